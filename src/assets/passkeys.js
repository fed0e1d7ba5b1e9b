// Gatehouse passkeys (WebAuthn): the only script our pages load, served from our own origin
// (CSP script-src 'self'). It turns the WebAuthn options the server sends as JSON into
// navigator.credentials calls, and posts the browser's answer in an ordinary form, so every outcome
// is a page or a redirect like the rest of the sign-in. Without it (or without WebAuthn) the passkey
// forms stay hidden and every other form works as before.
(function () {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBytes(text) {
    var b64 = text.replace(/-/g, '+').replace(/_/g, '/');
    var bin = atob(b64 + '==='.slice((b64.length + 3) % 4));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }

  // The JSON form of a PublicKeyCredential (WebAuthn Level 3 toJSON), written out for older browsers.
  function answer(credential) {
    var r = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(r.clientDataJSON) },
    };
    if (r.attestationObject) {
      json.response.attestationObject = toText(r.attestationObject);
      json.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(r.authenticatorData);
      json.response.signature = toText(r.signature);
      if (r.userHandle) json.response.userHandle = toText(r.userHandle);
    }
    return JSON.stringify(json);
  }

  function options(form) {
    return fetch(form.getAttribute('data-options'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      // The second step of a sign-in also names the account, by its sealed step note.
      body: JSON.stringify(form.elements.ticket ? { csrf: form.elements.csrf.value, ticket: form.elements.ticket.value } : { csrf: form.elements.csrf.value }),
    }).then(function (response) {
      if (!response.ok) throw new Error('options ' + response.status);
      return response.json();
    });
  }

  function submitWith(form, credential) {
    form.elements.credential.value = answer(credential);
    form.submit();
  }

  function showError(form) {
    var error = form.querySelector('.error');
    if (error) error.hidden = false;
  }

  // The login page: a button, and the email field's autofill (conditional mediation) where offered.
  var signIn = document.getElementById('passkey-sign-in');
  if (signIn) {
    signIn.hidden = false;
    var pending = null;
    var get = function (mediation) {
      if (pending) pending.abort();
      var controller = new AbortController();
      pending = controller;
      return options(signIn).then(function (o) {
        var request = { publicKey: Object.assign({}, o, { challenge: toBytes(o.challenge), allowCredentials: withIds(o.allowCredentials) }), signal: controller.signal };
        if (mediation) request.mediation = mediation;
        return navigator.credentials.get(request);
      }).then(function (credential) {
        if (credential) submitWith(signIn, credential);
      }, function (err) {
        if (controller.signal.aborted || (err && err.name === 'AbortError')) return;
        if (!mediation) showError(signIn);
      });
    };
    signIn.addEventListener('submit', function (event) {
      event.preventDefault();
      get(null);
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) get('conditional');
      }, function () {});
    }
  }

  // The sign-in's second step: one of this account's passkeys after the password.
  var second = document.getElementById('passkey-second-factor');
  if (second) {
    second.hidden = false;
    second.addEventListener('submit', function (event) {
      event.preventDefault();
      options(second).then(function (o) {
        return navigator.credentials.get({ publicKey: Object.assign({}, o, { challenge: toBytes(o.challenge), allowCredentials: withIds(o.allowCredentials) }) });
      }).then(function (credential) {
        if (credential) submitWith(second, credential);
      }, function () {
        showError(second);
      });
    });
  }

  // The account page: add a passkey under a name.
  var register = document.getElementById('passkey-register');
  if (register) {
    register.hidden = false;
    register.addEventListener('submit', function (event) {
      event.preventDefault();
      options(register).then(function (o) {
        var publicKey = Object.assign({}, o, {
          challenge: toBytes(o.challenge),
          user: Object.assign({}, o.user, { id: toBytes(o.user.id) }),
          excludeCredentials: withIds(o.excludeCredentials),
        });
        return navigator.credentials.create({ publicKey: publicKey });
      }).then(function (credential) {
        if (credential) submitWith(register, credential);
      }, function () {
        showError(register);
      });
    });
  }
})();
