// Swagger UI of the openldn API, started from a file (the Content-Security-Policy forbids inline script).
// Calls made with "Try it out" carry the page's session cookie (sign in on the main page first).
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  layout: "BaseLayout",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
