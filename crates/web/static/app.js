// sealdesk progressive enhancement. Every page works without this file; with it, SMS codes are
// requested in place with a countdown, and the region selects refresh without a round trip.
"use strict";

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

function countdown(button, seconds) {
  const label = button.textContent;
  button.disabled = true;
  let left = seconds;
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = label;
      return;
    }
    button.textContent = `${left}秒后重新获取`;
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

function setStatus(form, text, isError) {
  let status = form.querySelector("[data-code-status]");
  if (!status) {
    status = document.createElement("p");
    status.setAttribute("data-code-status", "");
    form.querySelector("#f-code")?.closest(".field")?.appendChild(status);
  }
  status.className = isError ? "field-error" : "hint";
  status.textContent = text;
}

document.querySelectorAll("form[data-code-form]").forEach((form) => {
  const button = form.querySelector("[data-send-code]");
  button?.addEventListener("click", async (event) => {
    event.preventDefault();
    const phone = form.querySelector('[name="phone"]').value;
    const purpose = form.dataset.codeForm;
    const { ok, data } = await api("POST", "/api/v1/sms-codes", { phone, purpose });
    if (ok) {
      setStatus(form, "验证码已发送，10分钟内有效。", false);
      countdown(button, data.resend_after_secs);
    } else {
      const field = data?.fields?.[0];
      setStatus(form, field ? field.message : (data?.message ?? "发送失败，请稍后再试"), true);
    }
  });
});

async function fillSelect(select, url, placeholder) {
  select.innerHTML = "";
  select.append(new Option(placeholder, ""));
  if (!url) return 0;
  const { ok, data } = await api("GET", url);
  if (ok) data.forEach((d) => select.append(new Option(d.name, d.code)));
  return ok ? data.length : 0;
}

document.querySelectorAll("form[data-region-form]").forEach((form) => {
  const province = form.querySelector('[data-level="province"]');
  const city = form.querySelector('[data-level="city"]');
  const county = form.querySelector('[data-level="county"]');
  const countyField = county.closest(".field");
  const showCounty = (n) => { countyField.hidden = n === 0 && city.value !== ""; };
  showCounty(county.options.length - 1);
  province.addEventListener("change", async () => {
    await fillSelect(city, province.value && `/api/v1/divisions?province=${province.value}`, "请选择城市");
    await fillSelect(county, "", "请选择区县");
    countyField.hidden = false;
  });
  city.addEventListener("change", async () => {
    const n = await fillSelect(county, city.value && `/api/v1/divisions?city=${city.value}`, "请选择区县");
    showCounty(n);
  });
});

document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Parts of a form that only matter for one choice (专票 fields, the e-invoice email, a new
// address) are shown only while that choice is made. Without JavaScript everything stays visible.
function syncConditional(form) {
  form.querySelectorAll("[data-show-for]").forEach((el) => {
    const [name, values] = el.dataset.showFor.split("=");
    const control = form.querySelector(`[name="${name}"]:checked`) ?? form.querySelector(`select[name="${name}"]`);
    el.hidden = !values.split("|").includes(control ? control.value : "");
  });
}

document.querySelectorAll("form").forEach((form) => {
  if (!form.querySelector("[data-show-for]")) return;
  syncConditional(form);
  form.addEventListener("change", () => syncConditional(form));
});

// 去支付 opens the payment in a new page; this page then asks how it went (支付成功 / 支付失败).
document.querySelectorAll("form[data-pay-form]").forEach((form) => {
  const dialog = document.getElementById(form.dataset.payForm);
  form.addEventListener("submit", () => {
    if (dialog && typeof dialog.showModal === "function") setTimeout(() => dialog.showModal(), 0);
  });
});

// Payment: the page that carries the signed gateway form sends it on at once (the button stays
// for browsers without JavaScript).
document.querySelectorAll("form[data-autosubmit]").forEach((form) => form.submit());

// The left menu is open on wide screens and folds into a 菜单 button on phones.
document.querySelectorAll("details[data-open-wide]").forEach((menu) => {
  const wide = window.matchMedia("(min-width: 761px)");
  const sync = () => { menu.open = wide.matches; };
  sync();
  wide.addEventListener("change", sync);
});

// Photos are read in the background: while a reading is under way the step's form asks how it
// stands, and when done fills in the fields still empty (marked 请核对), never what was typed.
document.querySelectorAll("form[data-readings]").forEach((form) => {
  const wait = document.querySelector("[data-readings-wait]");
  const started = Date.now();
  const ask = async () => {
    const { ok, data } = await api("GET", form.dataset.readings);
    if (!ok || !data) return;
    data.failures.forEach((f) => {
      const status = document.querySelector(`[data-reading="${f.kind}"]`);
      if (status) {
        status.className = "upload-reading field-error";
        status.textContent = f.message;
      }
    });
    if (data.pending) {
      if (Date.now() - started < 120000) setTimeout(ask, 1500);
      else if (wait) wait.textContent = "识别耗时较长，请手动填写，或稍后刷新页面查看识别结果。";
      return;
    }
    document.querySelectorAll("[data-reading]").forEach((status) => {
      if (status.classList.contains("hint")) status.remove();
    });
    Object.entries(data.fields).forEach(([name, value]) => {
      const input = form.querySelector(`[name="${name}"]`);
      if (!input || input.value.trim() !== "") return;
      input.value = value;
      const label = form.querySelector(`label[for="${input.id}"]`);
      if (label && !label.querySelector(".tag-check")) {
        const tag = document.createElement("span");
        tag.className = "tag tag-check";
        tag.dataset.testid = `check-${name}`;
        tag.textContent = "请核对";
        label.append(" ", tag);
      }
    });
    if (wait) {
      if (data.notes) {
        wait.className = "notice";
        wait.setAttribute("data-testid", "form-success");
        wait.textContent = data.notes;
      } else {
        wait.remove();
      }
    }
  };
  setTimeout(ask, 800);
});
