/*
 * SSEProgressUI: a live progress bar for one background job, fed by the job's
 * Server-Sent Events stream (`GET /api/events/?channel=progress-<job_id>`).
 *
 *   const ui = new SSEProgressUI('report-progress', jobId, {
 *     title: 'Monthly report', icon: '📊',
 *     showDetails: true,      // list the warnings (failed items)
 *     showStats: true,        // processed / succeeded / failed counts
 *     debug: false,           // log every event to the console
 *     onComplete: (event) => {},   // the `complete` event
 *     onError: (event) => {},      // the `error` event, or {message} when the stream is refused
 *     onUpdate: (job) => {},       // each new state of the job, as GET /api/progress/jobs/<id>/ gives it
 *   });
 *   ui.close();               // stop listening
 *
 * The container may hold the markup of progress/_progress_bar.html; an empty element is
 * filled with the same markup. The stream first sends the job's latest state, so a bar
 * opened late (or reopened) shows where the job is. The bar never moves backwards. Repeated
 * warnings are listed once, with a count.
 * Further options: `baseUrl` (another origin; with `withCredentials`), `token` (an access
 * JWT for `?token=`, where there is no session cookie).
 */
(function (global) {
  'use strict';
  if (global.SSEProgressUI) return; // the include may appear more than once on a page

  var DEFAULTS = {
    title: 'Working…',
    icon: '⏳',
    showDetails: true,
    showStats: true,
    debug: false,
    onComplete: null,
    onError: null,
    onUpdate: null,
    baseUrl: '',
    token: null,
    withCredentials: false,
  };
  var MAX_DETAILS = 200;

  function SSEProgressUI(containerId, jobId, options) {
    this.container = document.getElementById(containerId);
    if (!this.container) throw new Error('SSEProgressUI: no element #' + containerId);
    if (!jobId) throw new Error('SSEProgressUI: a job id is required');
    if (this.container._sseProgress) this.container._sseProgress.close(); // a new job in the same place
    this.container._sseProgress = this;
    this.jobId = String(jobId);
    this.options = Object.assign({}, DEFAULTS, options || {});
    this.percent = 0;
    this.status = 'pending';
    this.finished = false;
    this.source = null;
    this._render();
    this._connect();
  }

  SSEProgressUI.prototype._log = function () {
    if (this.options.debug && global.console) console.debug.apply(console, ['[SSEProgressUI]'].concat([].slice.call(arguments)));
  };

  SSEProgressUI.prototype._part = function (role) {
    return this.container.querySelector('[data-role="' + role + '"]');
  };

  SSEProgressUI.prototype._render = function () {
    var c = this.container;
    if (!this._part('bar')) {
      c.classList.add('sse-progress');
      c.innerHTML =
        '<div class="sse-progress__head"><span class="sse-progress__icon" data-role="icon" aria-hidden="true"></span>' +
        '<span class="sse-progress__title" data-role="title"></span><span class="sse-progress__percent" data-role="percent">0%</span></div>' +
        '<div class="sse-progress__track" data-role="track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">' +
        '<div class="sse-progress__bar" data-role="bar"></div></div>' +
        '<p class="sse-progress__message" data-role="message" aria-live="polite"></p>' +
        '<dl class="sse-progress__stats" data-role="stats"><dt>Processed</dt><dd data-role="processed">0 / 0</dd>' +
        '<dt>Succeeded</dt><dd data-role="succeeded">0</dd><dt>Failed</dt><dd data-role="failed">0</dd></dl>' +
        '<ul class="sse-progress__details" data-role="details"></ul>';
    }
    c.hidden = false;
    c.dataset.status = 'pending';
    c.dataset.jobId = this.jobId;
    this._part('icon').textContent = this.options.icon;
    this._part('title').textContent = this.options.title;
    this._part('message').textContent = 'Waiting for the job to start…';
    this._part('details').textContent = '';
    this.warnings = {}; // warning text -> its list item, to count repeats
    this._part('stats').hidden = !this.options.showStats;
    this._part('details').hidden = !this.options.showDetails;
    this._setPercent(0, true);
  };

  SSEProgressUI.prototype._url = function () {
    var url = this.options.baseUrl + '/api/events/?channel=progress-' + encodeURIComponent(this.jobId);
    if (this.options.token) url += '&token=' + encodeURIComponent(this.options.token);
    return url;
  };

  SSEProgressUI.prototype._connect = function () {
    var self = this;
    this.source = new EventSource(this._url(), { withCredentials: !!this.options.withCredentials });
    this.source.onopen = function () { self._log('connected'); };
    this.source.onmessage = function (message) { self._onMessage(message); };
    this.source.onerror = function () {
      if (self.finished) return;
      if (self.source.readyState === EventSource.CLOSED) {
        // Refused (401/403/404) or not an event stream: EventSource gives up, so do we.
        self._fail({ message: 'Cannot follow this job (signed out, or not your job).' });
      } else {
        self._log('connection lost; the browser reconnects and resumes');
      }
    };
  };

  SSEProgressUI.prototype._onMessage = function (message) {
    var event;
    try {
      event = JSON.parse(message.data);
    } catch (e) {
      this._log('unreadable message', message.data);
      return;
    }
    this._log(event.type, event.action || '', event);
    if (event.type === 'stream.reset') return this._refetch();
    if (event.type !== 'progress.updated') return;
    this._apply(event.data, event.percent, event.message);
    if (event.action === 'warning') this._detail(event.message);
    if (event.action === 'complete') this._finish('completed', event);
    else if (event.action === 'error') this._fail(event);
  };

  // The history could not fill a gap: take the job's state from the REST API.
  SSEProgressUI.prototype._refetch = function () {
    var self = this;
    fetch(this.options.baseUrl + '/api/progress/jobs/' + encodeURIComponent(this.jobId) + '/', {
      credentials: this.options.withCredentials ? 'include' : 'same-origin',
      headers: this.options.token ? { Authorization: 'Bearer ' + this.options.token } : {},
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return;
        self._apply(job, job.percent, job.message);
        if (job.status === 'completed') self._finish('completed', { job_id: job.job_id, data: job, message: job.message });
        else if (job.status === 'failed') self._fail({ job_id: job.job_id, data: job, message: job.message });
      })
      .catch(function (error) { self._log('refetch failed', error); });
  };

  SSEProgressUI.prototype._apply = function (job, percent, message) {
    this._setPercent(percent);
    if (job) {
      this.status = job.status;
      this.container.dataset.status = job.status;
      this._part('processed').textContent = job.processed_items + ' / ' + job.total_items;
      this._part('succeeded').textContent = job.success_count;
      this._part('failed').textContent = job.failed_items;
      if (typeof this.options.onUpdate === 'function') this.options.onUpdate(job);
    }
    if (message) this._part('message').textContent = message;
  };

  SSEProgressUI.prototype._setPercent = function (percent, force) {
    var value = Number(percent) || 0;
    this.percent = force ? value : Math.max(this.percent, value); // never backwards
    var shown = Math.floor(this.percent);
    this._part('bar').style.width = this.percent + '%';
    this._part('track').setAttribute('aria-valuenow', String(shown));
    this._part('percent').textContent = shown + '%';
  };

  // A job often fails many items for the same reason: one line per reason, with how many times.
  SSEProgressUI.prototype._detail = function (text) {
    if (!text) return;
    var list = this._part('details');
    var item = Object.prototype.hasOwnProperty.call(this.warnings, text) ? this.warnings[text] : null;
    if (item && item.parentNode === list) {
      var count = Number(item.dataset.count) + 1;
      item.dataset.count = String(count);
      item.querySelector('[data-role="count"]').textContent = '×' + count;
      return;
    }
    item = document.createElement('li');
    item.dataset.count = '1';
    var label = document.createElement('span');
    label.textContent = text;
    var badge = document.createElement('span');
    badge.className = 'sse-progress__count';
    badge.dataset.role = 'count';
    item.appendChild(label);
    item.appendChild(badge);
    list.appendChild(item);
    this.warnings[text] = item;
    while (list.children.length > MAX_DETAILS) list.removeChild(list.firstChild);
  };

  SSEProgressUI.prototype._finish = function (status, event) {
    if (this.finished) return;
    this.finished = true;
    this.status = status;
    this.container.dataset.status = status;
    this._setPercent(100);
    this.close();
    if (typeof this.options.onComplete === 'function') this.options.onComplete(event);
  };

  SSEProgressUI.prototype._fail = function (event) {
    if (this.finished) return;
    this.finished = true;
    this.status = 'failed';
    this.container.dataset.status = 'failed';
    if (event && event.message) this._part('message').textContent = event.message;
    this.close();
    if (typeof this.options.onError === 'function') this.options.onError(event);
  };

  SSEProgressUI.prototype.close = function () {
    if (this.source) this.source.close();
  };

  global.SSEProgressUI = SSEProgressUI;
})(window);
