// What the console calls each channel (`channel` in docs/protocol.md): the one table that offer cards,
// conversation panels, earlier contacts and the status bar all read, so a channel is named alike everywhere.

/**
 * label: on its own ("Text message from …", a panel's channel); short: first in a line of earlier contacts;
 * noun: inside a sentence ("Accept text", "New text offer"); many: counted in the status bar ("Texts: 0 of 5").
 * In the status bar's order.
 */
const CHANNELS = {
  chat: { label: 'Chat', short: 'Chat', noun: 'chat', many: 'Chats' },
  sms: { label: 'Text message', short: 'Text', noun: 'text', many: 'Texts' },
  email: { label: 'Email', short: 'Email', noun: 'email', many: 'Emails' },
  voice: { label: 'Call', short: 'Call', noun: 'call', many: 'Calls' },
};

/** The words for `channel`, or null for a channel the console does not know. */
export function channelWords(channel) {
  return Object.hasOwn(CHANNELS, channel) ? CHANNELS[channel] : null;
}

/** "Chat", "Text message", "Email" or "Call" (a channel the console does not know is named as a chat). */
export function channelLabel(channel) {
  return (channelWords(channel) || CHANNELS.chat).label;
}

/**
 * The status bar's workload: [{ channel, text }] for each channel the adviser has capacity for (or still
 * holds work on), e.g. "Chats: 1 of 3". Pure: load and capacity are agent.state's, `{ channel: count }`.
 */
export function loadLines(load, capacity) {
  const count = (table, channel) => Math.max(0, Number(table?.[channel]) || 0);
  return Object.entries(CHANNELS)
    .map(([channel, words]) => ({ channel, words, load: count(load, channel), capacity: count(capacity, channel) }))
    .filter(({ load: held, capacity: most }) => most > 0 || held > 0)
    .map(({ channel, words, load: held, capacity: most }) => ({ channel, text: `${words.many}: ${held} of ${most}` }));
}
