// What the board calls channels, languages and statuses: the console's own channel words
// (console/channels.js), so an adviser and their supervisor name a channel alike.

import { channelWords } from '/console/channels.js';

export const DASH = '–';

/** The channels a filter offers, in the console's order (docs/protocol.md `channel`). */
export const CHANNELS = ['chat', 'sms', 'email', 'voice'];

/** "Chat", "Text message", "Email", "Call"; an unknown channel is shown as it is. */
export function channelName(channel) {
  return channelWords(channel)?.label || String(channel || DASH);
}

/** "Chats", "Texts", "Emails", "Calls". */
export function channelPlural(channel) {
  return channelWords(channel)?.many || String(channel || DASH);
}

/** "chat", "text", "email", "call": inside a sentence. */
export function channelNoun(channel) {
  return channelWords(channel)?.noun || String(channel || 'contact');
}

const languages = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en-GB'], { type: 'language' }) : null;

/** "Welsh" for "cy"; the code itself when the browser does not know it; "Not given" when empty. */
export function languageName(code) {
  if (!code) return 'Not given';
  try {
    return languages?.of(code) || code;
  } catch {
    return code;
  }
}

const STATUSES = { available: 'Available', away: 'Away', offline: 'Offline', busy: 'Busy' };

/** "Available", "Away", …; an unknown status is capitalised. */
export function statusLabel(status) {
  if (!status) return DASH;
  return STATUSES[status] || status.charAt(0).toUpperCase() + status.slice(1);
}

/** True when value is a finite number (null and undefined are "not known"). */
export function known(value) {
  return value !== null && value !== undefined && value !== '' && Number.isFinite(Number(value));
}

/** "12" or "–". */
export function count(value) {
  return known(value) ? String(Math.round(Number(value))) : DASH;
}

/** "87%" or "–". */
export function percent(value) {
  return known(value) ? `${Math.round(Number(value))}%` : DASH;
}
