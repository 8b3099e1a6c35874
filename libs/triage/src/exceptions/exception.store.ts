import type { Finding } from '@klaxon/findings';
import type { ExceptionConfig } from '@klaxon/platform';
import { coveringException, type Exception } from './exception';
import type { ExceptionRepository } from './exception.repository';

/**
 * All exceptions in force: those of `config/exceptions.yaml` (GitOps, read-only at runtime) first,
 * then those created through the API. Config ids win: the API cannot shadow a reviewed file.
 */
export class ExceptionStore {
  private readonly fromConfig: Exception[];

  constructor(
    configured: readonly ExceptionConfig[],
    private readonly repository: ExceptionRepository,
  ) {
    this.fromConfig = configured.map((e) => ({ ...e, origin: 'config' as const }));
  }

  isConfigured(id: string): boolean {
    return this.fromConfig.some((e) => e.id === id);
  }

  configured(): Exception[] {
    return this.fromConfig;
  }

  /** Every exception, expired ones included (they still explain past suppressions). One Redis call. */
  async list(): Promise<Exception[]> {
    const ids = new Set(this.fromConfig.map((e) => e.id));
    return [...this.fromConfig, ...(await this.repository.list()).filter((e) => !ids.has(e.id))];
  }

  async get(id: string): Promise<Exception | undefined> {
    return this.fromConfig.find((e) => e.id === id) ?? (await this.repository.get(id));
  }

  /** The exception covering `finding` at `now`, or undefined. */
  async covering(finding: Finding, now: Date): Promise<Exception | undefined> {
    return coveringException(await this.list(), finding, now);
  }
}
