// DEV ONLY. The default checklist template for the browser preview: the very JSON file the
// Rust core ships (assets/checklist/, read by yijian-core's default_template()), so the preview
// shows the real sections, items, skip logic and checks and cannot drift from them.
import type { ChecklistTemplate } from "../src/api";
export type { Aspect, Condition, Scalar } from "../src/bindings";
import templateJson from "../../assets/checklist/gansu-home-verification.v1.json";

export const RISKS: [string, string][] = [
  ["illness", "因病"], ["schooling", "因学"], ["disability", "因残"], ["disaster", "因灾"], ["accident", "因意外事故"],
  ["failed_enterprise", "因产业项目失败"], ["unstable_employment", "因务工就业不稳"], ["lack_of_labour", "缺劳动力"],
  ["housing_safety", "住房安全"], ["drinking_water", "饮水安全"], ["other", "其他"],
];

export const TEMPLATE = templateJson as unknown as ChecklistTemplate;
