/**
 * The explorer's one HTML page: a shell that loads the stylesheet and the script from the same
 * server (no CDN, no inline script, so the page's security policy can forbid both).
 *
 * @internal
 */

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export const page = (database: string): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mnesis explorer</title>
<link rel="stylesheet" href="/assets/explorer.css">
<script src="/assets/explorer.js" defer></script>
</head>
<body>
<header><a href="/">mnesis explorer</a><span class="where">${escape(database)} · read-only</span></header>
<main id="app"><p class="muted">loading…</p></main>
</body>
</html>
`
