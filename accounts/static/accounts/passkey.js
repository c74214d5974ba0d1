// A sign-in's second factor with a passkey. The page holds the options (json_script "webauthn-options");
// the browser's authenticator signs them and the passkey form posts its answer, checked by the server.
(function () {
  "use strict";
  const button = document.getElementById("use-passkey");
  const options = document.getElementById("webauthn-options");
  if (!button || !options) {
    return;
  }
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    button.hidden = true;  // this browser cannot use passkeys here: the code form remains
    return;
  }
  button.addEventListener("click", async function () {
    const form = document.getElementById("passkey-form");
    try {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(options.textContent));
      const credential = await navigator.credentials.get({publicKey: publicKey});
      form.elements.webauthn.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      document.getElementById("passkey-error").textContent = "The passkey did not answer: " + error.message;
    }
  });
}());
