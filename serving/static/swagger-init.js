// Starts Swagger UI on /docs from the files of the installed swagger_ui_bundle package
// (served under /static/swagger-ui/), so the page needs no CDN and no inline script.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
});
