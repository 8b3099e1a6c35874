import { Injectable, type OnModuleInit } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { issuePath } from '@klaxon/findings';
import { InputIntake, Runtime, collectJobSchema, collectQueue, type CollectJob } from '@klaxon/platform';
import { HARBOR_REPORT_FOLLOW_UP } from '@klaxon/sources';
import { fetchVulnerabilityReport } from './harbor.client';

/** What the Harbor webhook parser asks for (libs/sources/src/harbor/parse.ts), checked at this edge. */
const paramsSchema = z.object({
  project: z.string().min(1),
  repository: z.string().min(1),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  registry: z.string().optional(),
  tag: z.string().optional(),
});

/**
 * `collect.harbor-report`: a SCANNING_COMPLETED webhook carries only severity counts, so the full report
 * is pulled from Harbor's API with the robot account and handed to the shared intake as an input of its
 * own (format `harbor-report`, context image + digest): stored, checked, then quarantined or sent to
 * ingest like any upload. Its event id is derived from the webhook's, so a retried job stores and
 * enqueues the same event, not a second one.
 */
@Injectable()
export class HarborReportProcessor implements OnModuleInit {
  constructor(
    private readonly runtime: Runtime,
    private readonly intake: InputIntake,
  ) {}

  onModuleInit(): void {
    this.runtime.queues.work({
      queue: collectQueue(HARBOR_REPORT_FOLLOW_UP),
      schema: collectJobSchema,
      handle: (job) => this.execute(job),
      // Harbor is one server shared with every CI pushing to it: a few pulls at a time.
      options: { concurrency: 2 },
    });
  }

  /** Returns the id of the event holding the pulled report, or undefined when Harbor is not configured. */
  async execute({ eventId, followUp }: CollectJob): Promise<string | undefined> {
    const { config, logger } = this.runtime;
    const parsed = paramsSchema.safeParse(followUp.params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UnrecoverableError(`harbor-report follow-up of ${eventId}: ${issuePath(issue.path)}: ${issue.message}`);
    }
    const artifact = parsed.data;
    const harbor = config.sources.harbor;
    if (!harbor?.url || !harbor.username || !harbor.password) {
      logger.warn(
        { eventId, repository: artifact.repository },
        'Harbor scan completed but sources.harbor.url/username/password are not all set: only the image is recorded, not its report',
      );
      return undefined;
    }

    const raw = await fetchVulnerabilityReport(
      { url: harbor.url, username: harbor.username, password: harbor.password },
      { project: artifact.project, repository: artifact.repository, reference: artifact.digest },
    );
    const reportEventId = `${eventId}-harbor-${artifact.digest.slice('sha256:'.length, 'sha256:'.length + 12)}`;
    const image = `${artifact.registry ? `${artifact.registry}/` : ''}${artifact.repository}${artifact.tag ? `:${artifact.tag}` : ''}`;
    const outcome = await this.intake.accept(
      {
        integration: 'collector:harbor',
        format: 'harbor-report',
        context: { image, digest: artifact.digest, pulledFor: eventId },
        raw,
        contentType: 'application/json',
      },
      reportEventId,
    );
    if (outcome.status === 'quarantined') {
      // Not a job failure: pulling again brings the same document. It waits in quarantine for a replay.
      logger.warn(
        { eventId, reportEventId, repository: artifact.repository, path: outcome.error.path, error: outcome.error.message },
        'Harbor report pulled but unreadable: quarantined',
      );
    } else {
      logger.info({ eventId, reportEventId, repository: artifact.repository, outcome: outcome.status }, 'Harbor report pulled');
    }
    return reportEventId;
  }
}
