// Citizen chat page (/chat/): bilingual English/Welsh web chat over /ws/chat, or a call ("Call us").

import { byId, el, isBusy, fetchQueues, focusNode } from '/static/dom.js';
import { createSession, busy, idle } from './session.js';
import { createCall } from './call.js';
import { createCallback } from './callback.js';
import { createVerify, VERIFY_STRINGS } from './verify.js';
import { citizenKey, forgetKey, storedKey } from './remember.js';

/** Every UI string, in English and Welsh. Values may use {placeholders} or be functions of vars. */
const STRINGS = {
  en: {
    languageName: 'English',
    serviceName: 'Chat with us',
    pageHeading: 'Chat with us',
    skipLink: 'Skip to main content',
    startHeading: 'Start a chat',
    intro: 'Chat online with an adviser. While you wait, we will show your place in the queue.',
    nameLabel: 'Your name',
    nameHint: 'The adviser will use this to greet you.',
    nameMissing: 'Enter your name',
    queueLabel: 'Topic',
    queueHint: 'Choose what your question is about.',
    queuePlaceholder: 'Choose a topic',
    queueMissing: 'Choose a topic',
    queuesLoading: 'Loading topics…',
    queuesUnavailable: 'Sorry, online chat is not available at the moment. Try again later.',
    languageLabel: 'Language for your chat',
    rememberLabel: 'Remember this device, so that if you chat with us again we try to connect you with the same adviser',
    rememberHint: 'This keeps a random code in this browser only. Untick the box to forget it.',
    privacy: 'Do not share passwords or bank details in this chat.',
    startButton: 'Start chat',
    starting: 'Starting…',
    errorPrefix: 'Error:',
    chatHeading: 'Your chat',
    queuePosition: 'You are number {n} in the queue.',
    estimatedWait: ({ m }) => `Estimated wait: about ${m} ${m === 1 ? 'minute' : 'minutes'}.`,
    inQueue: 'You are in the queue. An adviser will join you soon.',
    resuming: 'Reconnecting you to your chat…',
    agentJoined: '{name} has joined the chat',
    transferred: 'You are being transferred to another adviser',
    transcriptLabel: 'Chat messages',
    you: 'You',
    adviser: 'Adviser',
    messageLabel: 'Your message',
    messageHint: 'Press Enter to send. Press Shift and Enter for a new line.',
    messageMissing: 'Enter a message',
    messageRejected: 'Your message could not be sent. It is back in the message box.',
    sendButton: 'Send',
    endButton: 'End chat',
    ending: 'Ending…',
    pendingHeading: 'Waiting to send',
    pendingHint: 'You are not connected at the moment. We will send these messages when you are reconnected.',
    ended: 'The chat has ended.',
    endedByAgent: 'The adviser ended the chat.',
    endedByCitizen: 'You ended the chat.',
    newChat: 'Start a new chat',
    reconnecting: 'Connection lost. Reconnecting…',
    notConnected: 'You are not connected at the moment. Try again in a few seconds.',
    errorGeneric: 'Sorry, something went wrong. Try again.',
    queueClosed: 'Sorry, this topic is closed at the moment. Try again later or choose another topic.',
    unknownQueue: 'Sorry, we could not find that topic. Choose another topic.',
    resumeFailed: 'We could not reconnect you to your last chat. You can start a new chat.',
    callbackSummary: 'Rather not wait? We can call you back',
    callbackLabel: 'Your phone number',
    callbackHint: 'A UK landline or mobile number. You keep your place in the queue.',
    callbackButton: 'Call me back',
    callbackSending: 'Sending…',
    callbackMissing: 'Enter your phone number',
    callbackBadNumber: 'Enter a UK landline or mobile number, like 01632 960 001 or 07700 900 982. We cannot call numbers abroad, or premium or special rate numbers.',
    callbackConflict: 'An adviser is about to answer your chat, so we will not call you back. Please stay on this page.',
    callbackAccepted: 'Thank you. We will call you on {number} when it is your turn. You can close this page.',
    callHint: 'To talk to an adviser instead, choose Call us. You will need a microphone, and speakers or headphones.',
    callButton: 'Call us',
    calling: 'Calling…',
    micRefused: 'You did not allow this page to use your microphone, so you cannot call us. To call, allow the microphone in your browser settings and try again, or start a chat instead.',
    micMissing: 'We could not find a microphone on this device. Connect one and try again, or start a chat instead.',
    micFailed: 'We could not use your microphone. Close any other app that is using it and try again, or start a chat instead.',
    callUnsupported: 'You cannot call us from this browser. Start a chat instead.',
    callFailed: 'Sorry, we could not connect your call. Try again, or start a chat instead.',
    callHeading: 'Your call',
    callConnecting: 'Connecting your call…',
    callConnected: 'Connected to {name}',
    callConnectedAnon: 'Connected to an adviser',
    callTransferred: 'You are being transferred to another adviser. Please stay on the line.',
    callTimeLabel: 'Call time',
    muteButton: 'Mute',
    unmuteButton: 'Unmute',
    mutedNotice: 'Your microphone is muted. The adviser cannot hear you.',
    hangUpButton: 'Hang up',
    soundBlocked: 'Your browser stopped the sound of the call. Select Play sound to hear it.',
    playSound: 'Play sound',
    callEnded: 'Call ended.',
    callEndedByAgent: 'The adviser ended the call.',
    callEndedByCitizen: 'You hung up.',
    callLost: 'The connection was lost.',
    callAgain: 'Start again',
  },
  cy: {
    languageName: 'Cymraeg',
    serviceName: 'Sgwrsio â ni',
    pageHeading: 'Sgwrsio â ni',
    skipLink: 'Neidio i’r prif gynnwys',
    startHeading: 'Dechrau sgwrs',
    intro: 'Sgwrsiwch ar-lein ag ymgynghorydd. Tra byddwch yn aros, byddwn yn dangos eich lle yn y ciw.',
    nameLabel: 'Eich enw',
    nameHint: 'Bydd yr ymgynghorydd yn defnyddio hwn i’ch cyfarch.',
    nameMissing: 'Rhowch eich enw',
    queueLabel: 'Pwnc',
    queueHint: 'Dewiswch beth yw testun eich cwestiwn.',
    queuePlaceholder: 'Dewiswch bwnc',
    queueMissing: 'Dewiswch bwnc',
    queuesLoading: 'Wrthi’n llwytho pynciau…',
    queuesUnavailable: 'Mae’n ddrwg gennym, nid yw sgwrsio ar-lein ar gael ar hyn o bryd. Rhowch gynnig arall arni yn nes ymlaen.',
    languageLabel: 'Iaith eich sgwrs',
    rememberLabel: 'Cofio’r ddyfais hon, er mwyn i ni geisio eich cysylltu â’r un ymgynghorydd os byddwch yn sgwrsio â ni eto',
    rememberHint: 'Mae hyn yn cadw cod ar hap yn y porwr hwn yn unig. Dad-diciwch y blwch i’w anghofio.',
    privacy: 'Peidiwch â rhannu cyfrineiriau na manylion banc yn y sgwrs hon.',
    startButton: 'Dechrau sgwrs',
    starting: 'Wrthi’n dechrau…',
    errorPrefix: 'Gwall:',
    chatHeading: 'Eich sgwrs',
    queuePosition: 'Rydych yn rhif {n} yn y ciw.',
    estimatedWait: 'Amser aros amcangyfrifedig: tua {m} munud.',
    inQueue: 'Rydych yn y ciw. Bydd ymgynghorydd yn ymuno â chi cyn bo hir.',
    resuming: 'Wrthi’n eich ailgysylltu â’ch sgwrs…',
    agentJoined: 'Mae {name} wedi ymuno â’r sgwrs',
    transferred: 'Rydych yn cael eich trosglwyddo i ymgynghorydd arall',
    transcriptLabel: 'Negeseuon y sgwrs',
    you: 'Chi',
    adviser: 'Ymgynghorydd',
    messageLabel: 'Eich neges',
    messageHint: 'Pwyswch Enter i anfon. Pwyswch Shift ac Enter i ddechrau llinell newydd.',
    messageMissing: 'Rhowch neges',
    messageRejected: 'Nid oedd modd anfon eich neges. Mae hi yn ôl yn y blwch neges.',
    sendButton: 'Anfon',
    endButton: 'Gorffen sgwrs',
    ending: 'Wrthi’n gorffen…',
    pendingHeading: 'Yn aros i’w hanfon',
    pendingHint: 'Nid ydych wedi’ch cysylltu ar hyn o bryd. Byddwn yn anfon y negeseuon hyn pan fyddwch wedi ailgysylltu.',
    ended: 'Mae’r sgwrs wedi dod i ben.',
    endedByAgent: 'Daeth yr ymgynghorydd â’r sgwrs i ben.',
    endedByCitizen: 'Daethoch â’r sgwrs i ben.',
    newChat: 'Dechrau sgwrs newydd',
    reconnecting: 'Collwyd y cysylltiad. Wrthi’n ailgysylltu…',
    notConnected: 'Nid ydych wedi’ch cysylltu ar hyn o bryd. Rhowch gynnig arall arni ymhen ychydig eiliadau.',
    errorGeneric: 'Mae’n ddrwg gennym, aeth rhywbeth o’i le. Rhowch gynnig arall arni.',
    queueClosed: 'Mae’n ddrwg gennym, mae’r pwnc hwn ar gau ar hyn o bryd. Rhowch gynnig arall arni yn nes ymlaen neu dewiswch bwnc arall.',
    unknownQueue: 'Mae’n ddrwg gennym, nid oeddem yn gallu dod o hyd i’r pwnc hwnnw. Dewiswch bwnc arall.',
    resumeFailed: 'Nid oeddem yn gallu eich ailgysylltu â’ch sgwrs ddiwethaf. Gallwch ddechrau sgwrs newydd.',
    callbackSummary: 'Ddim eisiau aros? Gallwn eich ffonio’n ôl',
    callbackLabel: 'Eich rhif ffôn',
    callbackHint: 'Rhif llinell dir neu ffôn symudol yn y DU. Byddwch yn cadw eich lle yn y ciw.',
    callbackButton: 'Ffoniwch fi’n ôl',
    callbackSending: 'Wrthi’n anfon…',
    callbackMissing: 'Rhowch eich rhif ffôn',
    callbackBadNumber: 'Rhowch rif llinell dir neu ffôn symudol yn y DU, fel 01632 960 001 neu 07700 900 982. Ni allwn ffonio rhifau dramor, na rhifau cyfradd premiwm neu gyfradd arbennig.',
    callbackConflict: 'Mae ymgynghorydd ar fin ateb eich sgwrs, felly ni fyddwn yn eich ffonio’n ôl. Arhoswch ar y dudalen hon.',
    callbackAccepted: 'Diolch. Byddwn yn eich ffonio ar {number} pan ddaw eich tro. Gallwch gau’r dudalen hon.',
    callHint: 'I siarad ag ymgynghorydd yn lle hynny, dewiswch Ffoniwch ni. Bydd angen meicroffon arnoch, a seinyddion neu glustffonau.',
    callButton: 'Ffoniwch ni',
    calling: 'Wrthi’n galw…',
    micRefused: 'Nid ydych wedi caniatáu i’r dudalen hon ddefnyddio’ch meicroffon, felly ni allwch ein ffonio. I’n ffonio, caniatewch y meicroffon yng ngosodiadau eich porwr a rhowch gynnig arall arni, neu dechreuwch sgwrs yn lle hynny.',
    micMissing: 'Nid oeddem yn gallu dod o hyd i feicroffon ar y ddyfais hon. Cysylltwch un a rhowch gynnig arall arni, neu dechreuwch sgwrs yn lle hynny.',
    micFailed: 'Nid oeddem yn gallu defnyddio’ch meicroffon. Caewch unrhyw ap arall sy’n ei ddefnyddio a rhowch gynnig arall arni, neu dechreuwch sgwrs yn lle hynny.',
    callUnsupported: 'Ni allwch ein ffonio o’r porwr hwn. Dechreuwch sgwrs yn lle hynny.',
    callFailed: 'Mae’n ddrwg gennym, nid oeddem yn gallu cysylltu’ch galwad. Rhowch gynnig arall arni, neu dechreuwch sgwrs yn lle hynny.',
    callHeading: 'Eich galwad',
    callConnecting: 'Wrthi’n cysylltu’ch galwad…',
    // "â" before a consonant, "ag" before a vowel: "â Bethan Jones", "ag Alex Morgan".
    callConnected: ({ name }) => `Wedi’ch cysylltu ${/^[aeiouâêîôû]/i.test(name) ? 'ag' : 'â'} ${name}`,
    callConnectedAnon: 'Wedi’ch cysylltu ag ymgynghorydd',
    callTransferred: 'Rydych yn cael eich trosglwyddo i ymgynghorydd arall. Arhoswch ar y lein, os gwelwch yn dda.',
    callTimeLabel: 'Hyd yr alwad',
    muteButton: 'Distewi',
    unmuteButton: 'Dad-dewi',
    mutedNotice: 'Mae’ch meicroffon wedi’i ddistewi. Nid yw’r ymgynghorydd yn gallu eich clywed.',
    hangUpButton: 'Rhoi’r ffôn i lawr',
    soundBlocked: 'Mae’ch porwr wedi atal sain yr alwad. Dewiswch Chwarae’r sain i glywed yr alwad.',
    playSound: 'Chwarae’r sain',
    callEnded: 'Mae’r alwad wedi dod i ben.',
    callEndedByAgent: 'Daeth yr ymgynghorydd â’r alwad i ben.',
    callEndedByCitizen: 'Rhoesoch y ffôn i lawr.',
    callLost: 'Collwyd y cysylltiad.',
    callAgain: 'Dechrau eto',
  },
};

for (const lang of Object.keys(STRINGS)) Object.assign(STRINGS[lang], VERIFY_STRINGS[lang]);

const LANG_KEY = 'contactd.chat.language';

const state = {
  lang: 'en',
  phase: 'start', // start | resuming | queued | assigned | ended
  queues: [],
  socket: null,
  connected: false,
  resuming: false,
  pendingStart: null,
  agentName: null,
  lastQueued: null,
  endedBy: null,
  errorKey: null,
  pending: new Map(), // id -> text, sent but not yet echoed by the server
};

function t(key, vars = {}) {
  const value = STRINGS[state.lang]?.[key] ?? STRINGS.en[key] ?? key;
  if (typeof value === 'function') return value(vars);
  return value.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

const storage = {
  get(key) { try { return sessionStorage.getItem(key); } catch { return null; } },
  set(key, value) { try { sessionStorage.setItem(key, value); } catch { /* storage blocked: keep going */ } },
  remove(key) { try { sessionStorage.removeItem(key); } catch { /* ignore */ } },
};

const callback = createCallback({ state, t, showError, setFieldError, send: (frame) => session.send(frame) });
const verify = createVerify({ state, t, storage, send: (frame) => session.send(frame) });
const session = createSession({ state, t, storage, showError, callback, verify });
const call = createCall({ t, showError, backToStart });

init();

function init() {
  const params = new URLSearchParams(location.search);
  if (params.has('embed')) document.body.classList.add('is-embedded');
  // The user's own choice (this tab) wins over the page's hint (?lang=cy from the widget).
  const wanted = storage.get(LANG_KEY) || params.get('lang') || document.documentElement.lang;
  state.lang = wanted && wanted.startsWith('cy') ? 'cy' : 'en';
  byId('language').value = state.lang;
  byId('remember').checked = Boolean(storedKey()); // they chose it last time
  bindEvents();
  session.restore();
  applyLanguage();
  loadQueues();
}

function bindEvents() {
  byId('language-toggle').addEventListener('click', toggleLanguage);
  byId('start-form').addEventListener('submit', onStartSubmit);
  byId('call-button').addEventListener('click', onCallClick);
  byId('remember').addEventListener('change', (event) => { if (!event.target.checked) forgetKey(); });
  byId('message-form').addEventListener('submit', (event) => { event.preventDefault(); session.sendMessage(); });
  byId('message-input').addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    session.sendMessage();
  });
  byId('end-button').addEventListener('click', session.endChat);
  byId('new-chat-button').addEventListener('click', session.newChat);
}

/* ---------- language ---------- */

function toggleLanguage() {
  state.lang = state.lang === 'en' ? 'cy' : 'en';
  storage.set(LANG_KEY, state.lang);
  if (state.phase === 'start') byId('language').value = state.lang;
  applyLanguage();
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = t('pageHeading');
  for (const node of document.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n, { name: node.dataset.i18nName });
  }
  const other = state.lang === 'en' ? 'cy' : 'en';
  const toggle = byId('language-toggle');
  toggle.textContent = STRINGS[other].languageName;
  toggle.lang = other;
  renderQueueOptions();
  session.relabel();
  verify.relabel();
  call.relabel();
  if (state.errorKey) showError(t(state.errorKey), state.errorKey);
  for (const field of ['name', 'queue', 'callback-number']) {
    const error = byId(`${field}-error`);
    if (error.dataset.key) setFieldError(field, error.dataset.key);
  }
  for (const button of document.querySelectorAll('[data-busy-key][aria-disabled="true"]')) {
    button.textContent = t(button.dataset.busyKey);
  }
}

/* ---------- start ---------- */

async function loadQueues() {
  state.queues = await fetchQueues();
  renderQueueOptions();
  if (state.queues.length === 0) showError(t('queuesUnavailable'), 'queuesUnavailable');
}

function renderQueueOptions() {
  const select = byId('queue');
  const chosen = select.value;
  if (state.queues.length === 0) return;
  const label = (q) => (state.lang === 'cy' && q.display_name_cy) || q.display_name || q.name;
  select.replaceChildren(
    el('option', { value: '', text: t('queuePlaceholder') }),
    ...state.queues.map((q) => el('option', { value: q.name, text: label(q) })),
  );
  select.value = chosen;
}

function onStartSubmit(event) {
  event.preventDefault();
  const fields = startFields(byId('start-button'), 'starting');
  if (fields) session.start({ type: 'chat.start', ...fields });
}

/** "Call us": the same form and checks as a chat, then a call instead (call.js). */
function onCallClick() {
  const fields = startFields(byId('call-button'), 'calling');
  if (fields) call.start(fields);
}

/**
 * Checks the start form; null (with the errors shown) if it is not complete or a start is under way.
 * Otherwise marks button busy and returns the fields of chat.start / call.start.
 */
function startFields(button, busyKey) {
  if (isBusy(byId('start-button')) || isBusy(byId('call-button'))) return null;
  const name = byId('name').value.trim();
  const queue = byId('queue').value;
  setFieldError('name', name ? null : 'nameMissing');
  setFieldError('queue', queue ? null : 'queueMissing');
  if (!name || !queue) {
    byId(name ? 'queue' : 'name').focus();
    return null;
  }
  showError('');
  busy(button, busyKey, t);
  const fields = { queue, name, language: byId('language').value };
  const key = citizenKey(byId('remember').checked);
  if (key) fields.citizen_key = key;
  return fields;
}

/** After a call: the start form again, ready for a chat or another call. */
function backToStart() {
  byId('start-section').hidden = false;
  byId('language').value = state.lang;
  idle(byId('call-button'), t);
  focusNode(byId('start-heading'));
}

function setFieldError(field, key) {
  const error = byId(`${field}-error`);
  const input = byId(field);
  error.replaceChildren();
  if (key) {
    error.dataset.key = key;
    error.append(el('span', { class: 'visually-hidden', text: `${t('errorPrefix')} ` }), t(key));
    input.setAttribute('aria-invalid', 'true');
  } else {
    delete error.dataset.key;
    input.removeAttribute('aria-invalid');
  }
  byId(`${field}-group`).classList.toggle('form-group--error', Boolean(key));
}

/** Shows an error in #chat-error; key lets it be re-translated. Empty text clears it. */
function showError(text, key = null) {
  state.errorKey = text ? key : null;
  const box = byId('chat-error');
  if (box.textContent !== text) box.textContent = text;
}

