/* The SMS simulator page (api/templates/simulator.html): a phone that texts the inbox.
   Loaded with defer, so the page is parsed when it runs. */
(() => {
  const channel = document.getElementById("channel");
  const contact = document.getElementById("contact");
  const thread = document.getElementById("thread");
  const error = document.getElementById("error");
  const form = document.getElementById("compose");
  const body = document.getElementById("body");
  const sendButton = document.getElementById("send");
  const image = document.getElementById("image");
  let lastRendered = "";

  // ?number=+1... opens that phone directly (links from the inbox, the README).
  const query = new URLSearchParams(location.search);
  contact.value = query.get("number") || localStorage.getItem("simulator.contact") || "";
  if (channel && localStorage.getItem("simulator.channel")) {
    channel.value = localStorage.getItem("simulator.channel");
  }

  function showError(text) { error.textContent = text || ""; }

  async function detail(response) {
    try { const data = await response.json(); return data.detail || response.statusText; }
    catch { return response.statusText; }
  }

  function localPath(url) {
    try {
      const path = new URL(url, location.href).pathname;
      return path.startsWith("/media/files/") ? path : null;
    } catch { return null; }
  }

  // Message text is set with textContent only: never parsed as HTML.
  function render(messages) {
    const key = JSON.stringify(messages.map(m => [m.sid, m.status]));
    if (key === lastRendered) return;
    lastRendered = key;
    thread.replaceChildren();
    if (!messages.length) {
      const p = document.createElement("p");
      p.className = "empty";
      p.textContent = "No messages yet. Say hello!";
      thread.append(p);
      return;
    }
    for (const m of messages) {
      const bubble = document.createElement("div");
      bubble.className = "bubble " + m.direction;
      bubble.textContent = m.body;
      for (const item of m.media || []) {
        const link = document.createElement("a");
        link.href = item.url; link.rel = "noopener";
        // Our own stored pictures (sent either way) are shown; anything else stays a link.
        const path = localPath(item.url);
        if (path) {
          const img = document.createElement("img");
          img.src = path; img.alt = "picture"; img.className = "picture";
          link.append(img);
        } else {
          link.textContent = " [media]";
        }
        bubble.append(link);
      }
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = new Date(m.created_at).toLocaleTimeString() +
        (m.direction === "outbound" ? " · from " + m.from : " · " + m.status);
      bubble.append(meta);
      thread.append(bubble);
    }
    thread.scrollTop = thread.scrollHeight;
  }

  async function refresh() {
    const number = contact.value.trim();
    if (!number || !channel) return;
    const params = new URLSearchParams({number, channel: channel.value});
    const response = await fetch("/simulator/api/messages?" + params);
    if (!response.ok) { showError(await detail(response)); return; }
    showError("");
    render((await response.json()).messages);
  }

  contact.addEventListener("change", () => {
    localStorage.setItem("simulator.contact", contact.value.trim());
    lastRendered = ""; refresh();
  });
  if (channel) channel.addEventListener("change", () => {
    localStorage.setItem("simulator.channel", channel.value);
    lastRendered = ""; refresh();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!channel) return;
    if (!contact.value.trim()) { showError("Type the contact's phone number first."); return; }
    const file = image.files[0];
    if (!body.value.trim() && !file) return;
    sendButton.disabled = true;
    try {
      let response;
      if (file) {  // an MMS: the picture goes up as a form with the text
        const data = new FormData();
        data.append("from", contact.value.trim());
        data.append("to", channel.value);
        data.append("body", body.value);
        data.append("image", file);
        response = await fetch("/simulator/api/send-image", {method: "POST", body: data});
      } else {
        response = await fetch("/simulator/api/send", {
          method: "POST",
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify({from: contact.value.trim(), to: channel.value, body: body.value}),
        });
      }
      if (!response.ok) { showError(await detail(response)); return; }
      body.value = "";
      image.value = "";
      showError("");
      await refresh();
    } finally {
      sendButton.disabled = false;
    }
  });
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });

  refresh();
  setInterval(refresh, 2000);
})();
