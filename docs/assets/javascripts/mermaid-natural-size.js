// On a phone, Mermaid's default (useMaxWidth) shrinks each diagram to the screen's width: a
// flowchart 1,300 px wide then has text 4 px high. There, diagrams keep their natural size and
// scroll sideways in their own box (site.css); the desktop column shows most of them whole at a
// readable size. Material calls mermaid.initialize with its settings once per page, after this
// script: the wrapper adds ours to every diagram type.
(() => {
  if (!window.matchMedia("(max-width: 44.9375em)").matches) return;  // Material's phone layout
  const initialize = mermaid.initialize.bind(mermaid);
  const diagramTypes = Object.entries(mermaid.mermaidAPI.getConfig())
    .filter(([, settings]) => settings && typeof settings === "object" && "useMaxWidth" in settings)
    .map(([type]) => type);
  mermaid.initialize = (config = {}) => {
    const naturalSize = Object.fromEntries(
      diagramTypes.map(type => [type, { ...config[type], useMaxWidth: false }]));
    return initialize({ ...config, ...naturalSize });
  };
})();
