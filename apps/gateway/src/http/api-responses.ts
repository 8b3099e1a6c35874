import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { findingSchema } from '@klaxon/findings';

/*
 * What the /v1 JSON endpoints answer, as zod schemas for /docs/openapi.json. They describe the answers;
 * the answers are built by the controllers from the domain types, not parsed through these.
 */

const page = { total: z.number().int(), offset: z.number().int(), limit: z.number().int() };
const open = z.record(z.unknown());

export const apiErrorSchema = z.object({ error: z.string(), message: z.string(), field: z.string().optional() }).passthrough();

const parseFailure = z.object({ message: z.string(), path: z.string().optional() });
export const eventSchema = z
  .object({
    id: z.string(),
    integration: z.string(),
    format: z.string().optional(),
    context: open,
    receivedAt: z.string(),
    contentType: z.string().optional(),
    status: z.enum(['received', 'parsed', 'triaged', 'routed', 'quarantined', 'ignored']),
    sizeBytes: z.number().int(),
    parsed: z.object({ format: z.string(), findings: z.number(), assets: z.number(), scopes: z.number() }).optional(),
    triage: z.record(z.number()).optional(),
    routed: z.object({ notifications: z.number(), destinations: z.array(z.string()) }).optional(),
    rescored: z.object({ findings: z.number(), notifications: z.number(), destinations: z.array(z.string()) }).optional(),
    deliveries: open,
    error: parseFailure.optional(),
    ignored: z.string().optional(),
    replays: z.number().int(),
  })
  .passthrough();
const deadLetterSchema = z.object({
  id: z.string(),
  queue: z.string(),
  jobName: z.string(),
  data: z.unknown(),
  error: z.object({ name: z.string(), message: z.string(), code: z.string().optional() }),
  attempts: z.number().int(),
  failedAt: z.string(),
});

const exceptionView = z
  .object({
    id: z.string(),
    match: z.array(z.string()),
    reason: z.string(),
    owner: z.string(),
    created: z.string().optional(),
    expires: z.string().optional(),
    permanent: z.boolean(),
    origin: z.enum(['config', 'api']),
    active: z.boolean(),
  })
  .passthrough();
const covering = z
  .object({
    id: z.string(),
    reason: z.string(),
    owner: z.string(),
    expires: z.string().optional(),
    permanent: z.boolean(),
    matched: z.array(z.string()).optional(),
  })
  .passthrough();
const routeMatch = z.object({
  path: z.string(),
  matched: z.array(z.string()),
  to: z.array(z.string()),
  groupBy: z.array(z.string()),
  groupLabels: z.record(z.string()),
});
const findingRecord = findingSchema.passthrough();

const gateException = z.object({ id: z.string(), reason: z.string(), owner: z.string(), expires: z.string().optional(), permanent: z.boolean() });
const gateFinding = z
  .object({
    fingerprint: z.string(),
    verdict: z.enum(['fail', 'warn', 'excepted']),
    severity: z.string(),
    rule: z.string(),
    title: z.string(),
    fixable: z.boolean(),
    package: z.object({ name: z.string(), installed: z.string().optional(), fixed: z.string().optional(), ecosystem: z.string().optional() }).optional(),
    location: z.string().optional(),
    fix: z.string().optional(),
    reason: z.string(),
    exception: gateException.optional(),
  })
  .passthrough();

const suggestionSummary = z
  .object({
    id: z.string(),
    rule: z.string(),
    title: z.string(),
    severity: z.string(),
    workload: open.optional(),
    image: open.optional(),
    code: open.optional(),
    evidence: z.object({
      count: z.number(),
      firstSeen: z.string(),
      lastSeen: z.string(),
      detections: z.array(z.object({ rule: z.string(), count: z.number() })),
    }),
    policies: z.array(z.string()),
    adoptedAt: z.string().optional(),
  })
  .passthrough();

export class EventResponse extends createZodDto(eventSchema) {}
export class QuarantineResponse extends createZodDto(z.object({ ...page, items: z.array(eventSchema) })) {}
export class ReplayResponse extends createZodDto(z.object({ eventId: z.string(), replay: z.number().int() })) {}
export class DeadLettersResponse extends createZodDto(z.object({ ...page, items: z.array(deadLetterSchema) })) {}
export class DeadLetterReplayResponse extends createZodDto(z.object({ id: z.string(), replayed: z.literal(true) })) {}
export class ExceptionResponse extends createZodDto(exceptionView) {}
export class ExceptionsResponse extends createZodDto(z.object({ total: z.number().int(), items: z.array(exceptionView) })) {}
export class DeletedResponse extends createZodDto(z.object({ id: z.string(), deleted: z.literal(true) })) {}
export class FindingsResponse extends createZodDto(z.object({ ...page, items: z.array(findingRecord) })) {}
export class FindingResponse extends createZodDto(
  findingRecord.extend({
    history: z.array(open),
    suppressedBy: covering.nullable(),
    routes: z.array(routeMatch),
    exception: covering.nullable(),
    context: open.nullable(),
  }),
) {}
export class RouteTestResponse extends createZodDto(
  z.object({
    fingerprint: z.string().optional(),
    routes: z.array(routeMatch),
    destinations: z.array(z.string()),
    suppressed: z.boolean(),
    exception: covering.optional(),
  }),
) {}
export class RiskResponse extends createZodDto(z.object({ limit: z.number().int(), total: z.number().int(), items: z.array(open) })) {}
export class GateResponse extends createZodDto(
  z.object({
    pass: z.boolean(),
    reasons: z.array(z.string()),
    findings: z.array(gateFinding),
    exceptions: z.array(gateException.extend({ findings: z.number().int() })),
    summary: z.object({ total: z.number().int(), failed: z.number().int(), warned: z.number().int(), excepted: z.number().int() }),
    context: open,
    source: z.string(),
    check: z.object({ published: z.boolean(), destination: z.string(), id: z.number().optional(), error: z.string().optional() }).optional(),
  }),
) {}
export class IntakeResponse extends createZodDto(z.object({ eventId: z.string(), format: z.string(), ignored: z.string().optional() })) {}
export class WebhookResponse extends createZodDto(
  z.object({ eventId: z.string(), format: z.string().optional(), ignored: z.string().optional(), duplicate: z.boolean().optional() }),
) {}
const proposalSummary = z.object({
  id: z.string(),
  tier: z.enum(['proposal', 'lower']),
  title: z.string(),
  severity: z.string(),
  workload: open.optional(),
  image: open.optional(),
  code: open.optional(),
  evidence: open,
  changes: z.object({ securityContextPatch: z.string().optional(), dockerfile: z.array(z.string()), ci: z.array(z.string()) }),
  sections: z.array(suggestionSummary.extend({ priority: z.string(), lowerBecause: z.string().optional() })),
});
export class SuggestionsResponse extends createZodDto(z.object({ ...page, items: z.array(suggestionSummary), proposals: z.array(proposalSummary) })) {}
export class SuggestionSummaryResponse extends createZodDto(suggestionSummary) {}
export class SuggestionResponse extends createZodDto(
  z.object({ id: z.string(), rule: open, evidence: open, changes: open, policies: open, adoptedAt: z.string().optional() }).passthrough(),
) {}
export class ApiErrorResponse extends createZodDto(apiErrorSchema) {}
export class OverviewResponse extends createZodDto(
  z.object({
    open: z.object({ total: z.number().int(), bySeverity: z.record(z.number().int()), byKind: z.record(z.number().int()) }),
    daily: z.array(open),
    sent: open,
    failed: z.object({ quarantined: z.number().int(), deadLetters: z.number().int() }),
  }),
) {}
export class ComplianceResponse extends createZodDto(
  z.object({
    standards: z.array(z.object({ controls: z.array(z.object({ status: z.string(), findings: z.array(open) }).passthrough()) }).passthrough()),
    trend: z.array(open),
  }),
) {}
