// Turns the plain query form of /sparql into the YASGUI editor when the vendored YASGUI loaded.
// Without JavaScript (or without the vendored files) the form and the server-rendered results
// table stay, so the page works either way. Nothing here fetches from outside this server.
(function () {
  "use strict";
  var configElement = document.getElementById("editor-config");
  var host = document.getElementById("yasgui");
  if (!configElement || !host || typeof window.Yasgui !== "function") {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var endpoint = new URL(config.endpoint, window.location.href).href;

  // The server knows the project's prefixes without PREFIX lines; the editor's syntax check
  // does not, so declare the ones a query uses before showing it.
  function withPrefixes(query) {
    var declared = {};
    query.replace(/PREFIX\s+([\w-]*):/gi, function (match, name) {
      declared[name] = true;
      return match;
    });
    var lines = [];
    Object.keys(config.prefixes).forEach(function (name) {
      var used = new RegExp("(^|[\\s(,;/^|])" + name + ":", "m");
      if (!declared[name] && used.test(query)) {
        lines.push("PREFIX " + name + ": <" + config.prefixes[name] + ">");
      }
    });
    return lines.length ? lines.join("\n") + "\n" + query : query;
  }

  host.hidden = false;
  var yasgui = new window.Yasgui(host, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    persistenceId: null,
    populateFromUrl: false,
    autofocus: false,
    endpointCatalogueOptions: {
      getData: function () {
        return [{ endpoint: endpoint }];
      },
    },
    // Class and property completion asks an outside service (LOV); keep to what is local.
    yasqe: { autocompleters: ["prefixes", "variables"] },
    yasr: { defaultPlugin: "table", prefixes: config.prefixes },
  });
  var tab = yasgui.getTab();
  tab.setQuery(withPrefixes(config.query));
  document.body.classList.add("has-yasgui");

  // Download links that always carry the query now in the editor, in formats that fit its form.
  var downloads = document.getElementById("live-downloads");
  if (downloads) {
    var links = downloads.querySelectorAll("a[data-format]");
    var update = function () {
      var query = yasgui.getTab().getQuery();
      var form = yasgui.getTab().getYasqe().getQueryType() || "SELECT";
      links.forEach(function (link) {
        link.hidden = link.dataset.forms.split(" ").indexOf(form) < 0;
        link.href = endpoint + "?" + new URLSearchParams({ query: query, format: link.dataset.format });
      });
    };
    update();
    yasgui.getTab().getYasqe().on("change", update);
    downloads.hidden = false;
  }
  if (config.run) {
    tab.query();
  }
})();
