// The API's browsable documentation: Swagger UI over the OpenAPI document; "Try it out" sends the page's CSRF
// token, as the API requires for session-authenticated state changes.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  if (!el || !window.SwaggerUIBundle) { return; }
  var token = document.querySelector('meta[name="csrf-token"]');
  window.SwaggerUIBundle({
    url: el.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: function (request) {
      if (token) { request.headers["X-CSRFToken"] = token.content; }
      return request;
    }
  });
})();
