import { Controller, Headers, HttpCode, HttpStatus, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ParseError, detectFormat, formats, isYamlMediaType, yamlFormats, yamlToJson } from '@klaxon/sources';
import { ApiError } from '../http/api-error';
import { reportContextOf } from '../http/report-context';
import { IntakeService } from './intake.service';

/** `POST /v1/reports?format=…`: a scanner's report from CI, with its build context. */
@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly intake: IntakeService) {}

  @Post()
  @HttpCode(202)
  async upload(
    @Req() request: FastifyRequest,
    @Query() query: Record<string, string>,
    @Headers() headers: Record<string, string>,
  ): Promise<{ eventId: string; format: string }> {
    const format = query.format || undefined;
    if (format && !formats().includes(format)) {
      throw ApiError.badRequest('format', `unknown format "${format}"; one of ${formats().join(', ')}`);
    }
    const body = request.body;
    if (typeof body !== 'string' || body.trim() === '') throw ApiError.badRequest('body', 'the report is empty');
    const context = reportContextOf(query, headers);
    const yaml = isYamlMediaType(headers['content-type']);
    const raw = yaml ? kubernetesYaml(body, format) : body;
    return this.intake.accept({ integration: 'report', format, context, raw, contentType: yaml ? 'application/json' : headers['content-type'] });
  }
}

/**
 * A YAML body (`kubectl get … -o yaml | curl --data-binary @-`) of a Kubernetes resource, as the JSON it
 * denotes: that is what is stored and parsed. Reports of other formats are JSON (or SARIF) only.
 */
function kubernetesYaml(body: string, format: string | undefined): string {
  const readable = yamlFormats();
  const unsupported = (what: string) =>
    new ApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, {
      error: 'unsupported_media_type',
      message: `${what} is not read from YAML; YAML is read for ${readable.join(', ')} (send other reports as application/json)`,
      field: 'content-type',
    });
  if (format && !readable.includes(format)) throw unsupported(`format "${format}"`);
  let json: string;
  try {
    json = yamlToJson(body);
  } catch (err) {
    if (err instanceof ParseError) throw ApiError.badRequest('body', err.message.replace(/^body: /, ''));
    throw err;
  }
  const detected = format ?? detectFormat(json);
  if (detected && !readable.includes(detected)) throw unsupported(`a ${detected} report`);
  return json;
}
