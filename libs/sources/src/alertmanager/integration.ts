import { bearerTokenIntegration } from '../falco/integration';

export const alertmanagerIntegration = bearerTokenIntegration('alertmanager', 'alertmanager');
