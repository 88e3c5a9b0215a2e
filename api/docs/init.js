// Renders the contract this server serves (openapi.json, next to /docs)
// with Redoc's standalone bundle, which defines init. Telemetry is off:
// the page talks to this server only.
init("openapi.json", {
  disableTelemetry: true,
  hideDownloadButtons: false,
  expandResponses: "200",
  jsonSamplesExpandLevel: 3,
}, document.getElementById("redoc"));
