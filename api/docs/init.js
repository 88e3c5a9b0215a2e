// Renders the contract this server serves (openapi.json, beside /docs)
// with Redoc's standalone bundle, an ES module. Telemetry is off: the page
// talks to this server only.
import { init } from "./redoc.standalone.js";

init("openapi.json", {
  disableTelemetry: true,
  expandResponses: "200",
  jsonSamplesExpandLevel: 3,
}, document.getElementById("redoc"));
