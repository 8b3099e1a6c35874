import { bearerTokenIntegration } from '../falco/integration';

export const stackroxIntegration = bearerTokenIntegration('stackrox', 'stackrox');
