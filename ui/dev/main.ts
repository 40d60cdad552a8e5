// DEV ONLY: install the fake Rust side first, then start the real app.
import "./mock";
import "../src/main";
