/*
 * contactd chat widget. Embed on any page with:
 *   <script src="https://YOUR-CONTACTD-HOST/chat/widget.js" async></script>
 * Adds a "Chat with us" button (bottom right) that opens the chat in a panel.
 * Only global: window.ContactdChat = { open(), close() }.
 * Welsh pages (<html lang="cy">) get Welsh labels and a Welsh chat.
 */
(function () {
  'use strict';
  if (window.ContactdChat) return;

  var script = document.currentScript || document.querySelector('script[src*="/chat/widget.js"]');
  if (!script || !script.src) return;
  var origin = new URL(script.src, location.href).origin;
  var welsh = /^cy\b/i.test(document.documentElement.lang || '');
  var text = welsh
    ? { open: 'Sgwrsio â ni', close: 'Cau’r sgwrs', title: 'Sgwrsio â ni', region: 'Sgwrs ar-lein' }
    : { open: 'Chat with us', close: 'Close chat', title: 'Chat with us', region: 'Online chat' };

  var STYLE = [
    ':host { all: initial; }',
    '.launcher, .close { font: 700 1rem/1.2 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;',
    '  border: 2px solid transparent; border-radius: 0; cursor: pointer; }',
    '.launcher { position: fixed; right: 1rem; bottom: 1rem; z-index: 2147483646; min-height: 2.75rem;',
    '  padding: 0.6rem 1rem; color: #fff; background: #1d70b8; box-shadow: 0 2px 0 #003078; }',
    '.launcher:hover { background: #003078; }',
    '.launcher:focus-visible, .close:focus-visible { outline: 3px solid transparent; color: #0b0c0c;',
    '  background: #ffdd00; box-shadow: 0 2px 0 #0b0c0c; }',
    '.panel { position: fixed; right: 1rem; bottom: 4.5rem; z-index: 2147483647; display: flex; flex-direction: column;',
    '  width: min(26rem, calc(100vw - 2rem)); height: min(40rem, calc(100vh - 6rem)); background: #fff;',
    '  border: 2px solid #0b0c0c; box-shadow: 0 4px 16px rgba(0,0,0,0.3); }',
    '.panel[hidden] { display: none; }',
    '.bar { display: flex; justify-content: flex-end; background: #0b0c0c; padding: 0.25rem; }',
    '.close { min-height: 2.5rem; padding: 0.4rem 0.8rem; color: #0b0c0c; background: #fff; }',
    'iframe { flex: 1; width: 100%; border: 0; }',
    '@media (max-width: 30rem), (max-height: 30rem) {',
    '  .panel { inset: 0; width: 100%; height: 100%; border: 0; } }',
  ].join('\n');

  var host = document.createElement('div');
  host.setAttribute('data-contactd-chat', '');
  var root = host.attachShadow ? host.attachShadow({ mode: 'open' }) : host;
  var style = document.createElement('style');
  style.textContent = STYLE;

  var launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'launcher';
  launcher.textContent = text.open;
  launcher.setAttribute('aria-expanded', 'false');
  launcher.setAttribute('aria-controls', 'contactd-chat-panel');

  var panel = document.createElement('div');
  panel.className = 'panel';
  panel.id = 'contactd-chat-panel';
  panel.setAttribute('role', 'region');
  panel.setAttribute('aria-label', text.region);
  panel.hidden = true;

  var bar = document.createElement('div');
  bar.className = 'bar';
  var closeButton = document.createElement('button');
  closeButton.type = 'button';
  closeButton.className = 'close';
  closeButton.textContent = text.close;
  bar.appendChild(closeButton);
  panel.appendChild(bar);

  var frame = null;

  function open() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.title = text.title;
      // "Call us" needs the microphone and to play the call; a cross-origin frame gets neither unless
      // the embedding page delegates them (the Permissions Policy features "microphone" and "autoplay").
      frame.allow = 'microphone; autoplay';
      frame.src = origin + '/chat/?embed=1' + (welsh ? '&lang=cy' : '');
      panel.appendChild(frame);
    }
    panel.hidden = false;
    launcher.setAttribute('aria-expanded', 'true');
    launcher.textContent = text.close;
    frame.focus();
  }

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.textContent = text.open;
    launcher.focus();
  }

  launcher.addEventListener('click', function () {
    if (panel.hidden) open(); else close();
  });
  closeButton.addEventListener('click', close);
  panel.addEventListener('keydown', function (event) {
    if (event.key === 'Escape') close();
  });

  root.appendChild(style);
  root.appendChild(panel);
  root.appendChild(launcher);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);

  window.ContactdChat = { open: open, close: close };
})();
