// Loaded before Redoc's bundle (templates/drf_spectacular/redoc.html). The bundle shows the
// Redocly logo from cdn.redoc.ly in its menu, and no Redoc option turns that off; so on this
// page an image from another origin gets no src, and the browser never requests it.
(function () {
  function local(value) {
    var url = new URL(String(value), document.baseURI);
    return url.origin === location.origin || url.protocol === "data:" || url.protocol === "blob:";
  }
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true, enumerable: src.enumerable, get: src.get,
    set: function (value) { if (local(value)) src.set.call(this, value); },
  });
  var setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "src" && !local(value)) return;
    return setAttribute.call(this, name, value);
  };
})();
