// vetpay console: the payment form's type switch and the terminal dialog.
// The dialog follows the payment with the browser's own EventSource; every
// word it shows was rendered by the server from the Fluent files.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  // Payment and deposit forms: show the fields of the chosen type.
  for (const form of document.querySelectorAll("form")) {
    const radios = form.querySelectorAll('input[name="method"]');
    if (!radios.length) continue;
    const button = form.querySelector("#process");
    const sync = () => {
      const method = form.querySelector('input[name="method"]:checked')?.value;
      for (const part of form.querySelectorAll("[data-for-method]")) {
        const on = part.dataset.forMethod === method;
        part.hidden = !on;
        for (const field of part.querySelectorAll("select, input")) field.disabled = !on;
      }
      if (button) {
        button.textContent = method === "card" ? button.dataset.labelCard : button.dataset.labelOther;
      }
    };
    for (const r of radios) r.addEventListener("change", sync);
    sync();
  }

  const dialog = document.getElementById("terminal-dialog");
  if (!dialog) return;
  const stage = document.getElementById("dialog-stage");
  const abort = document.getElementById("abort");
  // Abort is for the time before the card holder enters the PIN.
  const abortable = new Set(["connecting", "waiting-for-card"]);
  const words = (kind, name) => dialog.dataset[`${kind}${name.replace(/(^|[-_])(\w)/g, (_, __, c) => c.toUpperCase())}`];

  const showStage = (name) => {
    stage.dataset.stage = name;
    stage.textContent = words("stage", name) || words("stage", "other");
    if (abort) abort.disabled = !abortable.has(name);
  };

  // The people at the counter never close the dialog: it closes on the result.
  dialog.addEventListener("cancel", (e) => e.preventDefault());
  dialog.showModal();
  (abort || dialog).focus();
  showStage(stage.dataset.stage || "connecting");

  const events = new EventSource(`/payments/${encodeURIComponent(dialog.dataset.payment)}/events`);
  events.addEventListener("stage", (e) => showStage(JSON.parse(e.data).stage));
  events.addEventListener("status", (e) => {
    const payment = JSON.parse(e.data).payment;
    if (payment.status === "processing") {
      if (payment.stage) showStage(payment.stage);
      return;
    }
    if (payment.status === "unknown") {
      stage.textContent = words("status", "unknown");
      if (abort) abort.disabled = true;
      return;
    }
    // Final: the page behind shows the payment and what happened to it.
    events.close();
    stage.textContent = words("status", payment.status) || payment.status;
    dialog.dataset.final = payment.status;
    setTimeout(() => {
      dialog.close();
      window.location.replace(dialog.dataset.back + (dialog.dataset.back.includes("?") ? "&" : "?") + "result=" + encodeURIComponent(payment.id));
    }, 600);
  });

  abort?.addEventListener("click", async () => {
    abort.disabled = true;
    stage.textContent = dialog.dataset.abortAsked;
    await fetch(`/payments/${encodeURIComponent(dialog.dataset.payment)}/abort`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
  });
})();
