import { Controller, Delete, Get, Header, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { consolidate, proposalSubject, ruleTable, suggestionId, toYaml, type Proposal, type Suggestion, type SuggestionRule } from '@klaxon/feedback';
import { Runtime } from '@klaxon/platform';
import { SuggestionRepository, viewOf, type StoredSuggestion } from '@klaxon/triage';
import { ApiError } from '../http/api-error';
import { SuggestionResponse, SuggestionSummaryResponse, SuggestionsResponse } from '../http/api-responses';
import { Access } from '../http/api-token.guard';

const listQuery = z
  .object({
    repo: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    offset: z.coerce.number().int().min(0).default(0),
  })
  .strict();
class SuggestionsQueryDto extends createZodDto(listQuery) {}

type View = Suggestion & { adoptedAt?: string };

/** The list entry: what and where, how much evidence, not the YAML (that is on the single view). */
function summary(s: View) {
  return {
    id: s.id,
    rule: s.rule.id,
    title: s.rule.title,
    severity: s.rule.severity,
    workload: s.workload,
    image: s.image,
    code: s.code,
    evidence: {
      count: s.evidence.count,
      firstSeen: s.evidence.firstSeen,
      lastSeen: s.evidence.lastSeen,
      detections: s.evidence.detections.map((d) => ({ rule: d.rule, count: d.count })),
    },
    policies: Object.keys(s.policies),
    adoptedAt: s.adoptedAt,
  };
}

/** A proposal as listed: the merged evidence and changes, and its sections (each a suggestion to open or adopt). */
function proposalSummary(p: Proposal) {
  return {
    id: p.id,
    tier: p.tier,
    title: p.title,
    severity: p.severity,
    workload: p.workload,
    image: p.image,
    code: p.code,
    evidence: { count: p.evidence.count, firstSeen: p.evidence.firstSeen, lastSeen: p.evidence.lastSeen, sources: p.evidence.sources },
    changes: p.changes,
    sections: p.sections.map((s) => ({ ...summary(s.suggestion), priority: s.priority, lowerBecause: s.lowerBecause })),
  };
}

/** Every document of a suggestion (changes and policies) as one multi-document YAML file. */
function allYaml(s: View): string {
  const parts = [
    s.changes.securityContextPatch && `# securityContext patch\n${s.changes.securityContextPatch}`,
    s.changes.rbac && `# RBAC for pods/exec\n${s.changes.rbac}`,
    s.changes.networkPolicy && `# NetworkPolicy from observed egress: review before applying\n${s.changes.networkPolicy}`,
    s.policies.kyverno && `# Kyverno\n${s.policies.kyverno}`,
    s.policies.gatekeeper && `# Gatekeeper\n${s.policies.gatekeeper.template}---\n${s.policies.gatekeeper.constraint}`,
  ].filter((p): p is string => !!p);
  return parts.length ? parts.join('---\n') : toYaml({});
}

/** `GET /v1/suggestions`, `GET /v1/suggestions/{id}` (JSON, or `?format=yaml`), adopting one for the gate. */
@Controller('v1/suggestions')
export class SuggestionsController {
  private readonly table: SuggestionRule[];

  constructor(
    private readonly runtime: Runtime,
    private readonly repository: SuggestionRepository,
  ) {
    this.table = ruleTable(runtime.config.feedback);
  }

  private view(stored: StoredSuggestion | undefined, id: string): View {
    const view = stored && viewOf(stored, this.table, this.runtime.config.feedback);
    if (!view) throw ApiError.notFound(`suggestion ${id}`);
    return view;
  }

  @ApiResponse({ status: 200, type: SuggestionsResponse })
  @Get()
  @Access('read')
  async list(@Query() { repo, limit, offset }: SuggestionsQueryDto) {
    const { total, ids } = await this.repository.list(offset, limit, repo);
    const stored = await this.repository.getMany(ids);
    const views = ids.flatMap((id) => {
      const view = stored.get(id) && viewOf(stored.get(id)!, this.table, this.runtime.config.feedback);
      return view ? [view] : [];
    });
    return { total, offset, limit, items: views.map(summary), proposals: await this.proposals(views) };
  }

  /**
   * The proposals (and lower-priority items) of the subjects on this page, each whole: every suggestion
   * of the subject, also those on other pages (the rule table names them all). Most urgent first.
   */
  private async proposals(page: View[]) {
    const subjects = [...new Map(page.map((v) => [JSON.stringify(proposalSubject(v)), proposalSubject(v)])).values()];
    const ids = [...new Set(subjects.flatMap((subject) => this.table.map((rule) => suggestionId(rule, subject))))];
    const stored = await this.repository.getMany(ids);
    const views = [...stored.values()].flatMap((s) => viewOf(s, this.table, this.runtime.config.feedback) ?? []);
    const rank = (p: Proposal) => (p.tier === 'proposal' ? 0 : 1);
    return consolidate(views, this.table, this.runtime.config.feedback)
      .filter((p) => p.sections.length)
      .sort((a, b) => rank(a) - rank(b) || b.evidence.lastSeen.localeCompare(a.evidence.lastSeen) || a.id.localeCompare(b.id))
      .map(proposalSummary);
  }

  @ApiResponse({ status: 200, type: SuggestionResponse })
  @Get(':id')
  @Access('read')
  async one(@Param('id') id: string, @Query('format') format: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const view = this.view(await this.repository.get(id), id);
    if (format === 'yaml') {
      reply.header('content-type', 'application/yaml; charset=utf-8');
      return allYaml(view);
    }
    if (format !== undefined && format !== 'json') throw ApiError.badRequest('format', 'one of json, yaml');
    return view;
  }

  /** The repo takes the suggestion on: from now on the gate fails reports that violate its checks. */
  @ApiResponse({ status: 200, type: SuggestionSummaryResponse })
  @Post(':id/adopt')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async adopt(@Param('id') id: string) {
    this.view(await this.repository.get(id), id);
    await this.repository.setAdopted(id, this.runtime.clock());
    return summary(this.view(await this.repository.get(id), id));
  }

  @ApiResponse({ status: 200, type: SuggestionSummaryResponse })
  @Delete(':id/adopt')
  async unadopt(@Param('id') id: string) {
    this.view(await this.repository.get(id), id);
    await this.repository.setAdopted(id, undefined);
    return summary(this.view(await this.repository.get(id), id));
  }
}
