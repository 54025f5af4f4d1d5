// Starts Swagger UI on /docs from the files of the installed swagger_ui_bundle package
// (served under /static/swagger-ui/), so the page needs no CDN and no inline script.
// BaseLayout: no top bar (its unlabelled URL box and "Explore" button fetch other documents,
// which an offline machine has none of). deepLinking off: with it, Swagger UI 4 nests a link
// inside each operation's button (axe: nested-interactive).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
