import type { Batch } from '@klaxon/findings';
import { z } from 'zod';
import { IgnoredInput, ParseError, parseJson, type SourceMeta, type SourceParser } from '../source';
import { buildAsset } from '../common/build-asset';
import { isObject, validateAt } from '../common/document';

// GitLab "Webhook events" (docs.gitlab.com/user/project/integrations/webhook_events): each body names its
// kind in `object_kind`, which is more reliable than the X-Gitlab-Event header ("Pipeline Hook").
const projectSchema = z.object({ path_with_namespace: z.string().min(1), web_url: z.string().optional() }).passthrough();

const pipelineSchema = z
  .object({
    object_kind: z.literal('pipeline'),
    object_attributes: z
      .object({
        id: z.number().optional(),
        ref: z.string().nullish(),
        tag: z.boolean().optional(),
        sha: z.string().min(1),
        status: z.string().optional(),
        url: z.string().optional(),
      })
      .passthrough(),
    merge_request: z.object({ iid: z.number().int() }).passthrough().nullish(),
    project: projectSchema,
  })
  .passthrough();

const mergeRequestSchema = z
  .object({
    object_kind: z.literal('merge_request'),
    project: projectSchema,
    object_attributes: z
      .object({
        iid: z.number().int(),
        source_branch: z.string(),
        url: z.string().optional(),
        action: z.string().optional(),
        last_commit: z.object({ id: z.string().min(1) }).passthrough(),
      })
      .passthrough(),
  })
  .passthrough();

function parse(raw: string, meta: SourceMeta): Batch {
  const doc = parseJson(raw);
  if (!isObject(doc)) throw new ParseError('a GitLab webhook body is a JSON object');
  const kind = (doc as Record<string, unknown>).object_kind;
  if (typeof kind !== 'string' || !kind) throw new ParseError('missing; GitLab names the hook kind here', 'object_kind');
  switch (kind) {
    case 'pipeline': {
      const { object_attributes: pipeline, merge_request: mr, project } = validateAt(pipelineSchema, doc);
      // A tag pipeline's ref is the tag, not a branch.
      const branch = pipeline.tag ? undefined : (pipeline.ref ?? undefined);
      const asset = buildAsset({ repo: project.path_with_namespace, commit: pipeline.sha, branch, pullRequests: mr ? [mr.iid] : [], url: pipeline.url }, meta);
      return { findings: [], assets: [asset], scopes: [] };
    }
    case 'merge_request': {
      const { object_attributes: mr, project } = validateAt(mergeRequestSchema, doc);
      const asset = buildAsset(
        { repo: project.path_with_namespace, commit: mr.last_commit.id, branch: mr.source_branch, pullRequests: [mr.iid], url: mr.url },
        meta,
      );
      return { findings: [], assets: [asset], scopes: [] };
    }
    default:
      throw new IgnoredInput(`GitLab ${kind} hook carries nothing Klaxon reads`);
  }
}

export const gitlabParser: SourceParser = {
  format: 'gitlab',
  detect: () => false,
  parse,
};
