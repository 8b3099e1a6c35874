import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { KEY_PREFIX, REDIS } from '@klaxon/platform';
import { GroupRepository } from './grouping/group.repository';

const providers = [{ provide: GroupRepository, useFactory: (redis: Redis, prefix: string) => new GroupRepository(redis, prefix), inject: [REDIS, KEY_PREFIX] }];

/** The route groups' repository on the process's Redis and key prefix (PlatformModule provides both). */
@Module({ providers, exports: [GroupRepository] })
export class RoutingModule {}
