/*
 * TabScout embed script. On any page:
 *   <script src="https://your.host/tabscout/embed.js" data-origins="https://this.site"></script>
 * inserts a sized iframe with the chat widget (widget.html, next to this script) right after the script tag.
 * data-origins: the origins allowed to talk to the widget through postMessage (default: this page's origin).
 * Optional: data-model (default: the built-in model, models/tabscout-tiny/), data-weights, data-temperature, data-max-new-tokens, data-system, data-autoload ("1": download
 * the model at once instead of after a click or the first tabscout:ask), data-ignore-eos,
 * data-width, data-height, data-title, data-target (a CSS selector to put the iframe in instead).
 * The iframe gets the class "tabscout-widget"; script.tabscoutFrame points to it.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) return;
  var data = script.dataset;
  var widget = new URL('widget.html', script.src);
  widget.searchParams.set('origins', data.origins || window.location.origin);
  var pass = { model: 'model', weights: 'weights', temperature: 'temperature', maxNewTokens: 'maxNewTokens', system: 'system', autoload: 'autoload', ignoreEos: 'ignoreEos' };
  Object.keys(pass).forEach(function (key) {
    if (data[key] !== undefined && data[key] !== '') widget.searchParams.set(pass[key], data[key]);
  });
  var frame = document.createElement('iframe');
  frame.src = widget.href;
  frame.title = data.title || 'TabScout chat';
  frame.className = 'tabscout-widget';
  frame.setAttribute('data-tabscout-version', '1');
  var css = frame.style;
  css.width = data.width || '380px';
  css.height = data.height || '560px';
  css.maxWidth = '100%';
  css.border = '1px solid rgba(127, 127, 127, 0.35)';
  css.borderRadius = '12px';
  css.boxShadow = '0 4px 18px rgba(0, 0, 0, 0.12)';
  css.colorScheme = 'normal';
  var target = data.target ? document.querySelector(data.target) : null;
  if (target) target.appendChild(frame);
  else script.parentNode.insertBefore(frame, script.nextSibling);
  script.tabscoutFrame = frame;
})();
