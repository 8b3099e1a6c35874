import { HttpStatus } from '@nestjs/common';
import { ParseError, detectFormat, isYamlMediaType, yamlFormats, yamlToJson } from '@klaxon/sources';
import { ApiError } from '../http/api-error';

/**
 * An upload's body as the parsers read it. A YAML body (`kubectl get … -o yaml | curl --data-binary @-`)
 * of a Kubernetes resource becomes the JSON it denotes, which is what is stored and parsed; reports of
 * other formats are JSON (or SARIF) only. Anything else is returned as it came.
 */
export function reportBody(body: unknown, format: string | undefined, contentType: string | undefined): unknown {
  if (typeof body !== 'string' || body.trim() === '' || !isYamlMediaType(contentType)) return body;
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
