// Passkeys on the sign-in pages; the server checks every answer.
// - "Use a passkey" (#use-passkey): a sign-in's second factor; the page holds the options (json_script
//   "webauthn-options").
// - "Sign in with a passkey" (#sign-in-with-passkey): instead of the password; the options come from the
//   API (its data-options-url, POST /auth/login/passkey/options) with a token naming them.
// Either way the browser's authenticator signs the options and #passkey-form posts the answer.
(function () {
  "use strict";
  const secondFactor = document.getElementById("use-passkey");
  const passwordless = document.getElementById("sign-in-with-passkey");
  const button = secondFactor || passwordless;
  if (!button) {
    return;
  }
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    button.hidden = true;  // this browser cannot use passkeys here: the other form remains
    return;
  }

  async function options(form) {
    if (secondFactor) {
      return JSON.parse(document.getElementById("webauthn-options").textContent);
    }
    const reply = await fetch(passwordless.dataset.optionsUrl, {method: "POST", credentials: "omit"});
    const data = (await reply.json()).data;
    form.elements.passkey_token.value = data.passkey_token;
    return data.webauthn;
  }

  button.addEventListener("click", async function () {
    const form = document.getElementById("passkey-form");
    try {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(await options(form));
      const credential = await navigator.credentials.get({publicKey: publicKey});
      form.elements.webauthn.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      document.getElementById("passkey-error").textContent = "The passkey did not answer: " + error.message;
    }
  });
}());
