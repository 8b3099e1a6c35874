import { z } from 'zod';
import { endpointUrl, optionalText } from '@klaxon/platform';
import type { DeliveryLimits } from '../destination';

/**
 * Only a GitHub App installation may write check runs: GitHub answers 403 to a personal, fine-grained,
 * OAuth or user-to-server token. Those are recognised by their prefixes (ghp_, github_pat_, gho_, ghu_)
 * and refused up front; an installation token (ghs_, such as the GITHUB_TOKEN of GitHub Actions) is
 * accepted, though it lasts an hour: appId and privateKey let Klaxon renew its own.
 */
const USER_TOKEN = /^(ghp_|github_pat_|gho_|ghu_)/;

function githubAuthProblems(g: { token?: string; appId?: string; privateKey?: string; checkRuns: boolean }): { path: string[]; message: string }[] {
  if (!g.token && !(g.appId && g.privateKey)) return [{ path: [], message: 'needs token, or appId and privateKey' }];
  if (g.checkRuns && g.token && USER_TOKEN.test(g.token)) {
    return [
      {
        path: ['checkRuns'],
        message:
          'only a GitHub App may create check runs (GitHub answers 403 to a personal or OAuth token): set appId, privateKey and installationId instead of token, or checkRuns: false',
      },
    ];
  }
  return [];
}

export const githubDestinationSchema = z
  .object({
    type: z.literal('github'),
    token: optionalText,
    appId: optionalText,
    privateKey: optionalText,
    installationId: optionalText,
    baseUrl: endpointUrl.default('https://api.github.com'),
    checkRuns: z.boolean().default(false),
  })
  .strict()
  .superRefine((g, ctx) => githubAuthProblems(g).forEach((p) => ctx.addIssue({ code: z.ZodIssueCode.custom, ...p })));

export type GitHubDestinationConfig = z.output<typeof githubDestinationSchema>;

/** Content-creating requests: 80 per minute; Octokit's throttling plugin also spaces writes by 1 s. */
export const GITHUB_DELIVERY_LIMITS: DeliveryLimits = { rateLimit: { max: 80, per: 60_000 }, concurrency: 1 };
