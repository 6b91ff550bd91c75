// Progressive enhancement for the upload form: drag and drop, several files, and a progress
// bar per file. Without JavaScript the form posts to /upload as plain multipart.
'use strict';

// Sizes as the server words them: "31.2 MiB", "25 MiB".
const humanSize = (bytes) => {
  if (bytes < 1024) return bytes + ' bytes';
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit + 1 < units.length) { value /= 1024; unit++; }
  return value.toFixed(1).replace(/\.0$/, '') + ' ' + units[unit];
};

// Times are rendered in UTC ("07 Dec 2026, 10:00 UTC"); shown here in the viewer's own zone,
// with the UTC time kept as the tooltip.
const localTimes = (root) => {
  if (!window.Intl || !Intl.DateTimeFormat) return;
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  root.querySelectorAll('time[datetime]').forEach((t) => {
    const when = new Date(t.getAttribute('datetime'));
    if (Number.isNaN(when.getTime()) || t.dataset.local) return;
    t.title = t.textContent;
    t.textContent = format.format(when);
    t.dataset.local = '1';
  });
};

document.addEventListener('DOMContentLoaded', () => {
  localTimes(document);
  const deleteForm = document.querySelector('.delete-form');
  if (deleteForm) {
    deleteForm.addEventListener('submit', (e) => {
      if (!window.confirm('Delete this photo? This cannot be undone.')) e.preventDefault();
    });
  }

  const form = document.querySelector('.upload-form');
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  const input = form.querySelector('input[type=file]');
  const drop = form.querySelector('.drop');
  const list = form.querySelector('.progress-list');
  const button = form.querySelector('button[type=submit]');
  const csrf = form.dataset.csrf;
  const caption = form.querySelector('input[name=caption]');
  const maxFileBytes = Number(form.dataset.maxFileBytes) || Infinity;
  // Choosing files starts their upload, so the button is only for the form without script.
  form.classList.add('enhanced');

  const row = (file) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = file.name;
    const bar = document.createElement('progress');
    bar.max = 100;
    bar.value = 0;
    const status = document.createElement('span');
    status.className = 'status';
    status.textContent = 'waiting';
    li.append(name, bar, status);
    list.append(li);
    return { li, bar, status };
  };

  // One request per file, so each has its own progress and a bad file fails alone.
  const upload = (file, ui) => new Promise((resolve) => {
    if (file.size > maxFileBytes) {
      ui.status.textContent = `${file.name} is ${humanSize(file.size)}; the limit per photo is ${humanSize(maxFileBytes)}.`;
      ui.status.className = 'status failed';
      ui.li.classList.add('failed');
      resolve({ ok: false });
      return;
    }
    const data = new FormData();
    if (caption && caption.value) data.append('caption', caption.value);
    data.append('photo', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/photos');
    xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) ui.bar.value = Math.round((e.loaded / e.total) * 100);
      ui.status.textContent = ui.bar.value < 100 ? ui.bar.value + '%' : 'processing';
    });
    xhr.addEventListener('load', () => {
      let ok = xhr.status === 201;
      let message = ok ? 'done' : 'failed';
      if (ok) {
        // What the server wants the uploader to know (only the first frame of an animation is kept).
        try {
          const notes = JSON.parse(xhr.responseText).notes || [];
          if (notes.length) message = 'done · ' + notes.join(' ');
        } catch (_) { /* stored all the same */ }
      } else {
        try { message = JSON.parse(xhr.responseText).error.message; } catch (_) { message = 'failed (' + xhr.status + ')'; }
      }
      ui.bar.value = 100;
      ui.status.textContent = message;
      ui.status.className = 'status ' + (ok ? 'done' : 'failed');
      if (!ok) ui.li.classList.add('failed');
      resolve({ ok });
    });
    xhr.addEventListener('error', () => {
      ui.status.textContent = 'network error';
      ui.status.className = 'status failed';
      ui.li.classList.add('failed');
      resolve({ ok: false });
    });
    xhr.send(data);
  });

  // The feed as the server now has it (the uploader's own uploads included: ps_seen), put in
  // place of the page's, so the photos that went in show at once beside the rows that failed.
  const refreshFeed = async () => {
    try {
      const res = await fetch('/', { credentials: 'same-origin' });
      if (!res.ok) return false;
      const fresh = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('.feed');
      const feed = document.querySelector('.feed');
      if (!fresh || !feed) return false;
      feed.replaceWith(fresh);
      localTimes(fresh);
      return true;
    } catch (_) {
      return false;
    }
  };

  const send = async (files) => {
    if (!files.length) return;
    button.disabled = true;
    list.replaceChildren();
    const jobs = Array.from(files, (f) => [f, row(f)]);
    let succeeded = 0;
    for (const [file, ui] of jobs) {
      const result = await upload(file, ui);
      if (result.ok) succeeded++;
    }
    button.disabled = false;
    input.value = '';
    if (caption && succeeded) caption.value = '';
    const summary = document.createElement('li');
    summary.className = 'summary ' + (succeeded === jobs.length ? 'done' : 'failed');
    const photos = (n) => n + (n === 1 ? ' photo' : ' photos');
    summary.textContent = succeeded === jobs.length
      ? `${photos(succeeded)} uploaded.`
      : `${succeeded} of ${photos(jobs.length)} uploaded; ${jobs.length - succeeded} failed (see above).`;
    list.append(summary);
    if (succeeded && !(await refreshFeed())) window.location.reload();
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send(input.files);
  });
  input.addEventListener('change', () => send(input.files));
  ['dragenter', 'dragover'].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.remove('over');
  }));
  drop.addEventListener('drop', (e) => send(e.dataTransfer.files));
});
