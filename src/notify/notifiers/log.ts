import type { Logger } from '../../logging/logger.js';
import type { Notification } from '../events.js';
import type { Notifier, SendResult } from '../notifier.js';
import { renderText } from '../render/text.js';

/** Writes every notification to the structured log: always on, and all there is without Slack. */
export function createLogNotifier(logger: Logger, name = 'log'): Notifier {
  return {
    name,
    send(n: Notification): Promise<SendResult> {
      const fields = { notification_id: n.id, kind: n.kind, host: n.host, alert: n.alertName, text: renderText(n) };
      if (n.kind === 'resolved') logger.info('notification', fields);
      else logger.warn('notification', fields);
      return Promise.resolve({ ok: true });
    },
  };
}
