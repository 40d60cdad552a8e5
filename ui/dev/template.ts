// DEV ONLY. The default checklist template for the browser preview: the very JSON file the
// Rust core ships (assets/checklist/, read by yijian-core's default_template()), so the preview
// shows the real sections, items, skip logic and checks and cannot drift from them.
import type { ChecklistTemplate } from "../src/api";
import templateJson from "../../assets/checklist/gansu-home-verification.v1.json";

export type Scalar = boolean | number | string;
export type Condition =
  | { op: "equals"; item: string; value: Scalar }
  | { op: "any_of"; item: string; values: Scalar[] }
  | { op: "at_least"; item: string; value: number }
  | { op: "at_most"; item: string; value: number }
  | { op: "answered"; item: string }
  | { op: "not"; condition: Condition }
  | { op: "all"; conditions: Condition[] }
  | { op: "any"; conditions: Condition[] };

export type Aspect =
  | "food" | "clothing" | "compulsory_education" | "basic_medical" | "safe_housing"
  | "water_quantity" | "water_quality" | "water_convenience" | "water_reliability" | "other";

export interface Check { key: string; aspect: Aspect; label_zh: string; pass_if: Condition; problem_zh: string }

export interface MockTemplate extends ChecklistTemplate {
  derivation: {
    household_size: string;
    income: string[];
    deductions: string[];
    rigid_spending: string[];
    checks: Check[];
  };
}

export const RISKS: [string, string][] = [
  ["illness", "因病"], ["schooling", "因学"], ["disability", "因残"], ["disaster", "因灾"], ["accident", "因意外事故"],
  ["failed_enterprise", "因产业项目失败"], ["unstable_employment", "因务工就业不稳"], ["lack_of_labour", "缺劳动力"],
  ["housing_safety", "住房安全"], ["drinking_water", "饮水安全"], ["other", "其他"],
];

export const TEMPLATE = templateJson as unknown as MockTemplate;
