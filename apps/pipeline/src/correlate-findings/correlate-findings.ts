import type { Batch } from '@klaxon/findings';
import { JOB, QUEUE, type Runtime } from '@klaxon/platform';
import type { CorrelateFindings } from '@klaxon/triage';

/**
 * The correlate step of triage, as one call for the triage processor: records the batch's assets and
 * runtime sightings, returns the batch with environment, exposure, risk and correlated context on each
 * finding (so they are stored and routed with them), and sends the stored findings whose routes changed
 * with their new risk to the route queue as `rescored`, and those a late link (their pull request, commit)
 * reached as `updated`.
 */
export async function correlateBatch(correlate: CorrelateFindings, runtime: Runtime, eventId: string, batch: Batch): Promise<Batch> {
  const result = await correlate.execute(batch, runtime.clock());
  if (result.rescored.length) {
    await runtime.queues.add(
      QUEUE.route,
      JOB.route,
      // A group already told about the finding ignores it; a route it newly reaches tells it as new.
      { eventId, cause: 'rescore', changes: result.rescored },
      { jobId: `rescore-${eventId}` },
    );
    // Suggestions made from detections before their image's PR was known go to that PR too.
    const relinked = result.rescored.filter((r) => r.finding.kind === 'runtime' && r.finding.code?.repo).map((r) => r.finding);
    if (relinked.length) await runtime.queues.add(QUEUE.feedback, JOB.feedback, { eventId, findings: relinked, relink: true }, { jobId: `relink-${eventId}` });
  }
  if (result.rescoredCount)
    runtime.logger.debug({ eventId, rescored: result.rescoredCount, rerouted: result.rescored.length }, 'context changed: findings rescored');
  return result.batch;
}
