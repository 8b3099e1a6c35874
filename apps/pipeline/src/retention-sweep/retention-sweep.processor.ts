import { Injectable, type OnModuleInit } from '@nestjs/common';
import { JOB, QUEUE, Runtime, retentionJobSchema } from '@klaxon/platform';
import { GroupRepository, routeByPath } from '@klaxon/routing';
import { AssetRepository, FindingRepository } from '@klaxon/triage';

/** Groups looked at per sweep; the next sweep goes on where this one stopped. */
const GROUPS_PER_SWEEP = 10_000;

export interface SweepOutcome {
  findings: number;
  digests: number;
  groups: number;
  quarantine: number;
  deadLetters: number;
}

/**
 * `retention`: what has no natural TTL is swept here (README, "Retention"): index members (resolved
 * findings, quarantine and dead-letter listings) and group state. Keys with a natural life (events,
 * ledgers, flush outcomes, finished jobs) expire by themselves. One BullMQ job scheduler runs it every
 * `retention.sweepEvery`, once across all replicas.
 */
@Injectable()
export class RetentionSweepProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly findings: FindingRepository,
    private readonly assets: AssetRepository,
    private readonly groups: GroupRepository,
  ) {}

  async onModuleInit(): Promise<void> {
    const { queues, config } = this.runtime;
    queues.work({ queue: QUEUE.retention, schema: retentionJobSchema, handle: () => this.execute(), options: { concurrency: 1 } });
    await queues.queue(QUEUE.retention).upsertJobScheduler('retention', { every: config.retention.sweepEvery }, { name: JOB.retention, data: {} });
  }

  async execute(): Promise<SweepOutcome> {
    const { config, events, queues, logger } = this.runtime;
    const retention = config.retention;
    const now = this.runtime.clock().getTime();
    const resolvedBefore = new Date(now - retention.resolvedFindings);
    const removed = await this.findings.removeResolvedBefore(resolvedBefore);
    await this.assets.forgetRisk(removed);
    // A digest that stopped being current resolved its findings then: its per-digest state goes with them.
    const digests = await this.findings.forgetStaleDigests(resolvedBefore);
    await this.assets.forgetDigests(digests);
    const outcome: SweepOutcome = {
      findings: removed.length,
      digests: digests.length,
      groups: await this.sweepGroups(now),
      quarantine: await events.unlistQuarantinedBefore(new Date(now - retention.quarantine.keep)),
      deadLetters: await queues.deadLetters.removeOlderThan(new Date(now - retention.deadLetters), retention.maxDeadLetters),
    };
    logger.info({ removed: outcome }, 'retention sweep');
    return outcome;
  }

  /** Groups of routes the config no longer has go at once; others once idle past their repeat interval plus `idleGroups`. */
  private async sweepGroups(now: number): Promise<number> {
    const { routes, retention } = this.runtime.config;
    let removed = 0;
    for (const group of await this.groups.inactiveSince(now - retention.idleGroups, GROUPS_PER_SWEEP)) {
      const route = group.route === null ? undefined : routeByPath(routes, group.route);
      if (!route) {
        if (await this.groups.remove(group.groupId)) removed++;
        continue;
      }
      const idleBefore = now - route.repeatInterval - retention.idleGroups;
      if (group.lastActivity < idleBefore && (await this.groups.remove(group.groupId, idleBefore))) removed++;
    }
    return removed;
  }
}
