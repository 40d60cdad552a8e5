// DEV ONLY. The shape of yijian-core's default_template() (core/src/checklist.rs) as the IPC
// delivers it, so the preview shows the real sections, items, skip logic and checks.
import type { ChecklistItem, ChecklistSection, ChecklistTemplate, ItemKind, PhotoRequirement } from "../src/api";

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

const yes = (item: string): Condition => ({ op: "equals", item, value: true });
const no = (item: string): Condition => ({ op: "equals", item, value: false });
const eq = (item: string, value: Scalar): Condition => ({ op: "equals", item, value });
const anyOf = (item: string, values: string[]): Condition => ({ op: "any_of", item, values });
const atLeast = (item: string, value: number): Condition => ({ op: "at_least", item, value });
const atMost = (item: string, value: number): Condition => ({ op: "at_most", item, value });
const not = (condition: Condition): Condition => ({ op: "not", condition });
const all = (...conditions: Condition[]): Condition => ({ op: "all", conditions });
const any = (...conditions: Condition[]): Condition => ({ op: "any", conditions });

const NONE: PhotoRequirement = { type: "none" };
const ONE: PhotoRequirement = { type: "required", min: 1 };

function item(key: string, label_zh: string, kind: ItemKind, o: { help?: string; optional?: boolean; show_if?: Condition; photo?: PhotoRequirement } = {}): ChecklistItem {
  const it: ChecklistItem = { key, label_zh, kind, required: !o.optional, photo: o.photo ?? NONE };
  if (o.help) it.help_zh = o.help;
  if (o.show_if) it.show_if = o.show_if;
  return it;
}
const int = (min: number, max: number, unit_zh: string): ItemKind => ({ type: "integer", min, max, unit_zh });
const choice = (opts: [string, string][]): ItemKind => ({ type: "choice", options: opts.map(([value, label_zh]) => ({ value, label_zh })) });
const multi = (opts: [string, string][]): ItemKind => ({ type: "multi_choice", options: opts.map(([value, label_zh]) => ({ value, label_zh })) });
const text = (max_chars: number): ItemKind => ({ type: "text", max_chars });
const YN: ItemKind = { type: "yes_no" };
const money = (key: string, label: string, help: string): ChecklistItem => item(key, label, { type: "money" }, { help });
const section = (key: string, title_zh: string, items: ChecklistItem[]): ChecklistSection => ({ key, title_zh, items });

export const RISKS: [string, string][] = [
  ["illness", "因病"], ["schooling", "因学"], ["disability", "因残"], ["disaster", "因灾"], ["accident", "因意外事故"],
  ["failed_enterprise", "因产业项目失败"], ["unstable_employment", "因务工就业不稳"], ["lack_of_labour", "缺劳动力"],
  ["housing_safety", "住房安全"], ["drinking_water", "饮水安全"], ["other", "其他"],
];

const notPiped = no("water_piped_in");

export const TEMPLATE: MockTemplate = {
  id: "01JGFY0000000000000000001",
  code: "gansu-home-verification",
  version: 1,
  title_zh: "甘肃省防止返贫监测对象入户核查表",
  monitoring_line_yuan: 6000,
  sections: [
    section("household", "家庭基本情况", [
      item("household_size", "共同生活家庭人口数", int(1, 30, "人"), { help: "按实际共同生活的人口填写（人均收入按此计算）；家庭成员的姓名、身份证号、健康、务工、就学等在“家庭成员”中逐人登记" }),
      item("registered_size", "户籍人口数", int(0, 30, "人"), { optional: true }),
      item("labour_count", "劳动力人数", int(0, 30, "人"), { help: "16至60周岁、有劳动能力的家庭成员" }),
      item("seriously_ill_count", "患大病或慢性病人数", int(0, 30, "人")),
      item("disabled_count", "残疾人数", int(0, 30, "人")),
      item("migrant_worker_count", "外出务工人数", int(0, 30, "人")),
    ]),
    section("income", "家庭收入（近12个月）", [
      money("income_wages", "务工收入（元）", "外出务工和本地打零工的工资收入；没有填0"),
      money("income_crops", "种植收入（元）", "粮食、地膜玉米、马铃薯、果蔬等出售和自用折价；没有填0"),
      money("income_livestock", "养殖收入（元）", "牛、羊、猪、鸡等；没有填0"),
      money("income_other_business", "其他生产经营收入（元）", "个体经营、运输等；没有填0"),
      money("income_dibao", "低保金（元）", "没有填0"),
      money("income_tekun", "特困供养金（元）", "没有填0"),
      money("income_disability_allowance", "残疾人补贴（元）", "困难残疾人生活补贴和重度残疾人护理补贴；没有填0"),
      money("income_pension", "养老金（元）", "城乡居民基础养老金、退休金；没有填0"),
      money("income_other_transfers", "其他转移性收入（元）", "惠农补贴、赡养费、临时救助等；没有填0"),
      money("income_property", "财产性收入（元）", "土地流转租金、房屋出租、入股分红等；没有填0"),
      money("cost_production", "生产经营支出（元）", "种子、化肥、农药、饲料、雇工等，计算纯收入时扣除；没有填0"),
    ]),
    section("rigid_spending", "刚性支出（报销后）", [
      money("spending_medical_out_of_pocket", "医疗自付费用（元）", "医保报销和医疗救助之后自己负担的部分；没有填0"),
      item("medical_bills_photo", "医疗费用票据照片", { type: "photo" }, { help: "住院结算单、门诊票据等", show_if: atLeast("spending_medical_out_of_pocket", 1), photo: ONE }),
      money("spending_education", "教育支出（元）", "学费、住宿费、生活费等扣除资助后的部分；没有填0"),
    ]),
    section("two_no_worries", "两不愁", [
      item("food_sufficient", "吃饭不愁：口粮或买粮的钱是否够吃", YN),
      item("clothing_sufficient", "穿衣不愁：四季衣物和被褥是否齐全", YN),
    ]),
    section("compulsory_education", "义务教育保障", [
      item("has_school_age_children", "家中是否有6至15周岁的适龄儿童", YN),
      item("child_out_of_school", "是否有适龄儿童失学辍学", YN, { show_if: yes("has_school_age_children") }),
      item("out_of_school_reason", "失学辍学原因", choice([["economic", "家庭经济困难"], ["illness_disability", "因病因残（含送教上门）"], ["weariness", "厌学"], ["other", "其他"]]), { show_if: yes("child_out_of_school") }),
      item("out_of_school_detail", "失学辍学情况说明", text(200), { optional: true, show_if: yes("child_out_of_school") }),
    ]),
    section("basic_medical", "基本医疗保障", [
      item("medical_insurance_all", "家庭成员是否全部参加城乡居民基本医疗保险", YN),
      item("critical_illness_insurance", "是否全部纳入大病保险", YN),
      item("medical_assistance", "是否享受医疗救助", YN, { optional: true }),
      item("has_chronic_patient", "是否有慢性病患者", YN),
      item("chronic_card", "慢性病患者是否已办理慢病卡（门诊慢特病）", YN, { show_if: yes("has_chronic_patient") }),
    ]),
    section("safe_housing", "住房安全保障", [
      item("housing_rating", "住房安全等级", choice([["a", "A级（安全）"], ["b", "B级（基本安全）"], ["c", "C级（局部危险）"], ["d", "D级（整体危险）"]]), { help: "请拍摄住房外观照片", photo: ONE }),
      item("housing_cracks", "墙体是否有明显裂缝或倾斜", YN),
      item("housing_leaks", "屋顶是否漏雨", YN),
      item("housing_renovation", "是否已纳入危房改造", YN, { optional: true, show_if: anyOf("housing_rating", ["c", "d"]) }),
    ]),
    section("drinking_water", "饮水安全", [
      item("water_source_type", "水源类型", choice([["piped", "集中供水（自来水）"], ["well", "水井"], ["cellar", "水窖"], ["spring", "山泉水"], ["other", "其他"]])),
      item("water_litres_per_person_day", "人均每天可用水量", int(0, 1000, "升"), { help: "甘肃标准：每人每天不少于20升" }),
      item("water_quality_method", "水质判断依据", choice([["lab_report", "有水质检测报告"], ["sensory", "现场看、闻、尝（分散供水）"]])),
      item("water_quality_report_photo", "水质检测报告照片", { type: "photo" }, { show_if: eq("water_quality_method", "lab_report"), photo: ONE }),
      item("water_quality_ok", "水质是否达标", YN, { help: "有检测报告的以报告为准；现场判断：无色、无异味、无肉眼可见杂质" }),
      item("water_piped_in", "是否自来水入户", YN),
      item("water_fetch_minutes", "人力取水往返时间", int(0, 1440, "分钟"), { help: "不超过20分钟为方便", show_if: notPiped }),
      item("water_fetch_horizontal_m", "取水水平距离", int(0, 100000, "米"), { help: "不超过800米", show_if: notPiped }),
      item("water_fetch_vertical_m", "取水垂直距离", int(0, 10000, "米"), { help: "不超过80米", show_if: notPiped }),
      item("water_outage_days", "一年中停水或缺水天数", int(0, 366, "天"), { help: "不超过36天为达标（供水保证率不低于90%）" }),
      item("water_source_photo", "水源照片", { type: "photo" }, { help: "水龙头、水井或水窖", photo: ONE }),
    ]),
    section("risk", "风险研判与帮扶需求", [
      item("risk_types", "风险类型（可多选）", multi(RISKS)),
      item("risk_other_detail", "其他风险说明", text(200), { show_if: eq("risk_types", "other") }),
      item("hardship_description", "家庭困难情况描述", text(500)),
      item("needs", "帮扶需求（可多选）", multi([["medical_assistance", "医疗救助"], ["temporary_assistance", "临时救助"], ["dibao", "低保"], ["employment", "就业帮扶"], ["public_welfare_job", "公益岗位"], ["industry", "产业帮扶"], ["education_aid", "教育资助"], ["housing_renovation", "住房改造"], ["water_project", "饮水工程"], ["insurance", "保险"], ["other", "其他"]])),
      item("needs_detail", "帮扶需求说明", text(300), { optional: true }),
    ]),
    section("conclusion", "核查结论", [
      item("conclusion", "核查结论", choice([["qualifies", "符合监测对象识别条件"], ["does_not_qualify", "不符合监测对象识别条件"]])),
      item("monitoring_category", "建议监测对象类型", choice([["unstable_formerly_poor", "脱贫不稳定户"], ["marginal_at_risk", "边缘易致贫户"], ["sudden_severe_hardship", "突发严重困难户"]]), { show_if: eq("conclusion", "qualifies") }),
      item("not_qualified_reason", "不符合的理由", text(300), { help: "将在5个工作日内告知申请人", show_if: eq("conclusion", "does_not_qualify") }),
      item("verifier_opinion", "核查人意见", text(300), { optional: true }),
    ]),
    section("authorisation", "承诺授权与佐证照片", [
      item("authorisation_signature", "承诺授权书（户主签字并按手印）", { type: "signature" }, { help: "请拍摄签字按手印后的承诺授权书全页", photo: ONE }),
      item("evidence_photos", "其他佐证照片", { type: "photo" }, { help: "证件、收入凭证、家中情况等", optional: true, photo: { type: "optional" } }),
    ]),
  ],
  derivation: {
    household_size: "household_size",
    income: ["income_wages", "income_crops", "income_livestock", "income_other_business", "income_dibao", "income_tekun", "income_disability_allowance", "income_pension", "income_other_transfers", "income_property"],
    deductions: ["cost_production"],
    rigid_spending: ["spending_medical_out_of_pocket", "spending_education"],
    checks: [
      { key: "food", aspect: "food", label_zh: "吃饭不愁", pass_if: yes("food_sufficient"), problem_zh: "吃饭有困难：口粮或买粮的钱不够" },
      { key: "clothing", aspect: "clothing", label_zh: "穿衣不愁", pass_if: yes("clothing_sufficient"), problem_zh: "穿衣有困难：四季衣物或被褥不齐" },
      { key: "no_dropout_for_money", aspect: "compulsory_education", label_zh: "无适龄儿童因经济困难失学辍学", pass_if: any(no("has_school_age_children"), no("child_out_of_school"), not(eq("out_of_school_reason", "economic"))), problem_zh: "义务教育无保障：有适龄儿童因家庭经济困难失学辍学" },
      { key: "no_dropout", aspect: "other", label_zh: "无适龄儿童失学辍学", pass_if: any(no("has_school_age_children"), no("child_out_of_school")), problem_zh: "有6至15周岁适龄儿童失学辍学，需落实控辍保学" },
      { key: "medical_insurance", aspect: "basic_medical", label_zh: "参加城乡居民医保和大病保险", pass_if: all(yes("medical_insurance_all"), yes("critical_illness_insurance")), problem_zh: "基本医疗无保障：有家庭成员未参加城乡居民医保或大病保险" },
      { key: "chronic_card", aspect: "basic_medical", label_zh: "慢性病患者已办慢病卡", pass_if: any(no("has_chronic_patient"), yes("chronic_card")), problem_zh: "基本医疗无保障：慢性病患者未办理慢病卡" },
      { key: "housing_rating", aspect: "safe_housing", label_zh: "住房为A级或B级", pass_if: anyOf("housing_rating", ["a", "b"]), problem_zh: "住房不安全：住房鉴定为C级或D级" },
      { key: "housing_cracks", aspect: "safe_housing", label_zh: "墙体无明显裂缝", pass_if: no("housing_cracks"), problem_zh: "住房不安全：墙体有明显裂缝或倾斜" },
      { key: "housing_leaks", aspect: "safe_housing", label_zh: "屋顶不漏雨", pass_if: no("housing_leaks"), problem_zh: "住房不安全：屋顶漏雨" },
      { key: "water_quantity", aspect: "water_quantity", label_zh: "水量：每人每天不少于20升", pass_if: atLeast("water_litres_per_person_day", 20), problem_zh: "饮水不安全：水量不足（每人每天不足20升）" },
      { key: "water_quality", aspect: "water_quality", label_zh: "水质达标", pass_if: yes("water_quality_ok"), problem_zh: "饮水不安全：水质不达标" },
      { key: "water_convenience", aspect: "water_convenience", label_zh: "取水方便", pass_if: any(yes("water_piped_in"), atMost("water_fetch_minutes", 20), all(atMost("water_fetch_horizontal_m", 800), atMost("water_fetch_vertical_m", 80))), problem_zh: "饮水不安全：取水不方便（未通自来水，往返超过20分钟且距离超标）" },
      { key: "water_reliability", aspect: "water_reliability", label_zh: "供水保证率：一年停水不超过36天", pass_if: atMost("water_outage_days", 36), problem_zh: "饮水不安全：供水不稳定（一年停水超过36天）" },
      { key: "has_labour", aspect: "other", label_zh: "家中有劳动力", pass_if: atLeast("labour_count", 1), problem_zh: "家中无劳动力" },
      { key: "medical_cost", aspect: "other", label_zh: "医疗自付不超过2万元", pass_if: atMost("spending_medical_out_of_pocket", 2000000), problem_zh: "报销后医疗自付费用超过2万元" },
    ],
  },
};
