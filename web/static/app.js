// Progressive enhancement for the upload form: drag and drop, several files, and a progress
// bar per file. Without JavaScript the form posts to /upload as plain multipart.
'use strict';

document.addEventListener('DOMContentLoaded', () => {
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
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
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
    if (file.size > maxBytes) {
      ui.status.textContent = 'too large';
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
      let noted = false;
      if (ok) {
        // What the server wants the uploader to know (only the first frame of an animation is kept).
        try {
          const notes = JSON.parse(xhr.responseText).notes || [];
          if (notes.length) { message = 'done · ' + notes.join(' '); noted = true; }
        } catch (_) { /* stored all the same */ }
      } else {
        try { message = JSON.parse(xhr.responseText).error.message; } catch (_) { message = 'failed (' + xhr.status + ')'; }
      }
      ui.bar.value = 100;
      ui.status.textContent = message;
      ui.status.className = 'status ' + (ok ? 'done' : 'failed');
      if (!ok) ui.li.classList.add('failed');
      resolve({ ok, noted });
    });
    xhr.addEventListener('error', () => {
      ui.status.textContent = 'network error';
      ui.status.className = 'status failed';
      ui.li.classList.add('failed');
      resolve({ ok: false });
    });
    xhr.send(data);
  });

  const send = async (files) => {
    if (!files.length) return;
    button.disabled = true;
    list.replaceChildren();
    const jobs = Array.from(files, (f) => [f, row(f)]);
    let succeeded = 0;
    let noted = false;
    for (const [file, ui] of jobs) {
      const result = await upload(file, ui);
      if (result.ok) succeeded++;
      noted = noted || Boolean(result.noted);
    }
    button.disabled = false;
    input.value = '';
    // Everything went in and there is nothing to read: show it. Otherwise the messages stay.
    if (succeeded === jobs.length && !noted) window.location.reload();
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
