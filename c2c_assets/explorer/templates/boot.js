/* Starts embedding-atlas's front end. Over http(s): its module script and stylesheet, as shipped.
   From disk (file:), browsers refuse module scripts, fetch(), XHR and workers on file: URLs, so the
   files come from payload/*.js (classic scripts, which do load from disk: each calls __c2cFile with
   base64) and fetch, XHR and Worker are wrapped to answer a file: URL of this folder from its Blob.
   Hand-written because embedding-atlas's own export needs an http server (its README says so). */
(function () {
  "use strict";
  var boot = document.getElementById("c2c-boot").dataset;
  if (location.protocol !== "file:") {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = boot.css;
    document.head.appendChild(link);
    var module = document.createElement("script");
    module.type = "module";
    module.src = boot.main;
    document.head.appendChild(module);
    return;
  }

  var base = location.href.replace(/[#?].*$/, "").replace(/[^/]*$/, "");
  var parts = {};
  var types = {};
  window.__c2cFile = function (path, type, index, last, data) {
    (parts[path] = parts[path] || [])[index] = data;
    types[path] = type;
  };
  var names = JSON.parse(boot.payload);
  var pending = names.length;
  names.forEach(function (name) {
    var script = document.createElement("script");
    script.src = name;
    script.onload = function () { if (--pending === 0) start(); };
    script.onerror = function () { report("could not read " + name + " beside index.html"); };
    document.head.appendChild(script);
  });

  function report(message) {
    var box = document.getElementById("app");
    box.textContent = "The explorer could not start: " + message;
    box.setAttribute("data-c2c-error", message);
  }

  function decode(b64) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // Runs here and first in every worker: a file: URL of this folder is answered from its Blob. A worker
  // cannot read this page's blob: URLs from disk (each file: document is its own origin), so the Blobs
  // are posted to it as its first message, before the front end's own, and it makes its own URLs.
  function wrapper(folder, files) {
    // duckdb-wasm reads a file: URL as a path of its own file system, an http URL with XHR: the dataset
    // is named by this (never resolved: .invalid) http URL, which the XHR wrapper answers from its Blob.
    var LOCAL = "http://c2c-explorer.invalid/";
    var scope = self;
    var table = {};
    var ready = null;
    function take(blobs) {
      Object.keys(blobs).forEach(function (key) {
        table[key] = { blob: blobs[key], url: URL.createObjectURL(blobs[key]) };
      });
    }
    if (files) {
      take(files);
      ready = Promise.resolve();
    } else {
      ready = new Promise(function (resolve) {
        scope.addEventListener("message", function first(event) {
          if (!event.data || !event.data.__c2cFiles) return;
          event.stopImmediatePropagation();
          scope.removeEventListener("message", first);
          take(event.data.__c2cFiles);
          resolve();
        });
      });
    }
    function find(url) {
      var absolute;
      try { absolute = new URL(String(url), folder).href; } catch (e) { return null; }
      if (absolute.indexOf(LOCAL) === 0) absolute = folder + absolute.slice(LOCAL.length);
      if (absolute.indexOf("file:") !== 0) return null;
      absolute = absolute.replace(/[#?].*$/, "");
      var key = absolute.indexOf(folder) === 0 ? absolute.slice(folder.length) : "";
      return table[key] || table["*" + absolute.slice(absolute.lastIndexOf("/") + 1)] || null;
    }
    var realFetch = scope.fetch;
    scope.fetch = function (input, init) {
      var url = typeof input === "string" || input instanceof URL ? String(input) : input && input.url;
      if (!url || url.indexOf("blob:") === 0 || (url.indexOf("file:") !== 0 && url.indexOf(LOCAL) !== 0 && /^[a-z]+:/i.test(url))) {
        return realFetch.call(scope, input, init);
      }
      return ready.then(function () {
        var hit = find(url);
        if (!hit) return realFetch.call(scope, input, init);
        return new Response(hit.blob, { status: 200, headers: { "Content-Type": hit.blob.type } });
      });
    };
    var open = scope.XMLHttpRequest && scope.XMLHttpRequest.prototype.open;
    if (open) {
      scope.XMLHttpRequest.prototype.open = function (method, url) {
        var args = Array.prototype.slice.call(arguments);
        var hit = find(url);
        if (hit) {
          args[1] = hit.url;
          if (String(method).toUpperCase() === "HEAD") args[0] = "GET"; // blob: URLs answer GET only
        }
        return open.apply(this, args);
      };
    }
    var RealWorker = scope.Worker;
    if (RealWorker && files) {
      var Wrapped = function (url, options) {
        var hit = find(url);
        if (!hit) return new RealWorker(url, options);
        if (options && options.type === "module") {
          // The front end's module workers (search, clustering) read no files: their code alone.
          return new RealWorker(URL.createObjectURL(hit.blob), options);
        }
        var source = "(" + wrapper.toString() + ")(" + JSON.stringify(folder) + ", null);\n";
        var worker = new RealWorker(URL.createObjectURL(new Blob([source, hit.blob], { type: "text/javascript" })), options);
        worker.postMessage({ __c2cFiles: files });
        return worker;
      };
      Wrapped.prototype = RealWorker.prototype;
      scope.Worker = Wrapped;
    }
  }

  function start() {
    var files = {};
    Object.keys(parts).forEach(function (path) {
      var blob = new Blob(parts[path].map(decode), { type: types[path] });
      files[path] = blob;
      files["*" + path.slice(path.lastIndexOf("/") + 1)] = blob;
      delete parts[path];
    });
    if (!files[boot.main] || !files[boot.css] || !files["data/metadata.json"]) { report("payload/ lacks the front end"); return; }
    files["data/metadata.json"].text().then(function (text) {
      var meta = JSON.parse(text);
      meta.database = meta.database || {};
      meta.database.datasetUrl = "http://c2c-explorer.invalid/data/dataset.parquet";
      var blob = new Blob([JSON.stringify(meta)], { type: "application/json" });
      files["data/metadata.json"] = files["*metadata.json"] = blob;
      wrapper(base, files);
      return files[boot.main].text();
    }).then(function (main) {
      var style = document.createElement("link");
      style.rel = "stylesheet";
      style.href = URL.createObjectURL(files[boot.css]);
      document.head.appendChild(style);
      var module = document.createElement("script");
      module.type = "module";
      module.textContent = main;
      document.head.appendChild(module);
    });
  }
})();
