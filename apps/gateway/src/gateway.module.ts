import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { GateModule } from '@klaxon/gate';
import { SourcesModule } from '@klaxon/sources';
import { TriageModule } from '@klaxon/triage';
import { EventsController } from './events/events.controller';
import { ExceptionsController } from './exceptions/exceptions.controller';
import { FindingsController } from './findings/findings.controller';
import { GateController } from './gate/gate.controller';
import { HealthController } from './health/health.controller';
import { ApiTokenGuard } from './http/api-token.guard';
import { BodyErrorFilter } from './http/body-error.filter';
import { ApiValidationPipe } from './http/validation.pipe';
import { IntakeService } from './reports/intake.service';
import { ReportsController } from './reports/reports.controller';
import { RiskController } from './risk/risk.controller';
import { RoutesController } from './routes/routes.controller';
import { SuggestionsController } from './suggestions/suggestions.controller';
import { WebhooksController } from './webhooks/webhooks.controller';
import { KEY_PREFIX, REDIS } from '@klaxon/platform';
import { ComplianceController } from './compliance/compliance.controller';
import { OverviewController } from './overview/overview.controller';
import { SessionController } from './ui/session.controller';
import { SessionRepository } from './ui/session.repository';

const session = { provide: SessionRepository, useFactory: (redis: Redis, prefix: string) => new SessionRepository(redis, prefix), inject: [REDIS, KEY_PREFIX] };

@Module({
  imports: [TriageModule, SourcesModule, GateModule],
  controllers: [
    ReportsController,
    WebhooksController,
    EventsController,
    HealthController,
    FindingsController,
    ExceptionsController,
    RoutesController,
    RiskController,
    GateController,
    SuggestionsController,
    OverviewController,
    ComplianceController,
    SessionController,
  ],
  providers: [
    session,
    IntakeService,
    { provide: APP_GUARD, useClass: ApiTokenGuard },
    { provide: APP_FILTER, useClass: BodyErrorFilter },
    { provide: APP_PIPE, useClass: ApiValidationPipe },
  ],
  exports: [IntakeService],
})
export class GatewayModule {}
