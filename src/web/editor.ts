/**
 * The trace editor: CodeMirror 6 with line numbers, JSON highlighting, and a
 * marker on each line the simulator reported as a trace error.
 */
import { basicSetup, EditorView } from "codemirror";
import { EditorState, Compartment } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { json } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

/** JSON colours that keep a 4.5:1 contrast on each theme's background (the stock style targets light pages only). */
const colours = (dark: boolean) =>
  syntaxHighlighting(
    HighlightStyle.define([
      { tag: tags.propertyName, color: dark ? "#8ab4f8" : "#0b4fb3" },
      { tag: tags.string, color: dark ? "#f2b8b5" : "#a3161a" },
      { tag: tags.number, color: dark ? "#81c995" : "#136c2e" },
      { tag: [tags.bool, tags.null], color: dark ? "#d7aefb" : "#6a2ba3" },
      { tag: tags.lineComment, color: dark ? "#aab3be" : "#4a535e", fontStyle: "italic" },
    ]),
  );

export interface TraceEditor {
  view: EditorView;
  text(): string;
  set(text: string): void;
  /** Marks these 1-based lines as errors with their messages (replacing earlier marks). */
  mark(errors: Array<{ line: number; message: string }>): void;
  select(line: number): void;
  setDark(dark: boolean): void;
}

export function makeEditor(parent: HTMLElement, onRun: () => void, onChange: () => void): TraceEditor {
  const theme = new Compartment();
  const themeOf = (dark: boolean) => [EditorView.theme({}, { dark }), colours(dark)];
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: "",
      extensions: [
        keymap.of([{ key: "Mod-Enter", run: () => (onRun(), true) }]),
        basicSetup,
        json(),
        lintGutter(),
        theme.of(themeOf(false)),
        EditorView.contentAttributes.of({ "aria-label": "Trace: one op per line (JSON)" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange();
        }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    set(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    mark(errors) {
      const doc = view.state.doc;
      const diags: Diagnostic[] = errors
        .filter((e) => e.line >= 1 && e.line <= doc.lines)
        .map((e) => {
          const l = doc.line(e.line);
          return { from: l.from, to: l.to, severity: "error", message: e.message };
        });
      view.dispatch(setDiagnostics(view.state, diags));
    },
    select(line) {
      const doc = view.state.doc;
      if (line < 1 || line > doc.lines) return;
      const l = doc.line(line);
      view.dispatch({ selection: { anchor: l.from, head: l.to }, effects: EditorView.scrollIntoView(l.from, { y: "center" }) });
    },
    setDark(dark) {
      view.dispatch({ effects: theme.reconfigure(themeOf(dark)) });
    },
  };
}
