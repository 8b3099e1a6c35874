import { bearerTokenIntegration } from '../falco/integration';

export const tetragonIntegration = bearerTokenIntegration('tetragon', 'tetragon');
