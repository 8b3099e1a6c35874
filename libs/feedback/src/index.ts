// Runtime-to-build suggestion rules and policy generators live here (see DESIGN.md, 'Feedback to build time').
export {};
