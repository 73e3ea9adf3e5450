//! The columns of the registry imports and the header names sources use for each. A header
//! that contains one of these (`开发单位统一社会信用代码`) maps to its field too.

use crate::import::Column;

const COUNTY: &[&str] = &[
    "所属县区",
    "县区",
    "县(市、区)",
    "县市区",
    "区县",
    "所在县区",
    "所属区县",
    "辖区",
    "行政区",
    "所属辖区",
];

pub const ENTERPRISE_COLUMNS: &[Column] = &[
    Column {
        key: "credit_code",
        synonyms: &[
            "统一社会信用代码",
            "信用代码",
            "社会信用代码",
            "统一代码",
            "企业信用代码",
        ],
        required: true,
    },
    Column {
        key: "name",
        synonyms: &[
            "企业名称",
            "单位名称",
            "公司名称",
            "开发企业名称",
            "开发企业",
            "名称",
        ],
        required: true,
    },
    Column {
        key: "legal_rep",
        synonyms: &["法定代表人", "法人代表", "法人", "法定代表人姓名"],
        required: false,
    },
    Column {
        key: "grade",
        synonyms: &["资质等级", "资质", "开发资质", "企业资质", "资质级别"],
        required: true,
    },
    Column {
        key: "county",
        synonyms: COUNTY,
        required: true,
    },
    Column {
        key: "local",
        synonyms: &[
            "本地/外地",
            "企业属地",
            "属地",
            "是否本地企业",
            "本地外地",
            "企业来源",
        ],
        required: false,
    },
    Column {
        key: "origin",
        synonyms: &["注册地", "外地注册地", "来源地", "原注册地"],
        required: false,
    },
    Column {
        key: "parent_code",
        synonyms: &[
            "母公司信用代码",
            "母公司统一社会信用代码",
            "上级企业信用代码",
            "控股股东信用代码",
        ],
        required: false,
    },
    Column {
        key: "parent_name",
        synonyms: &["母公司", "母公司名称", "上级企业", "控股母公司"],
        required: false,
    },
    Column {
        key: "status",
        synonyms: &["企业状态", "状态", "资质状态", "经营状态"],
        required: false,
    },
    Column {
        key: "status_date",
        synonyms: &[
            "吊销/注销日期",
            "吊销注销日期",
            "状态日期",
            "吊销日期",
            "注销日期",
        ],
        required: false,
    },
    Column {
        key: "aliases",
        synonyms: &["别名", "简称", "企业简称", "曾用名"],
        required: false,
    },
    Column {
        key: "phone",
        synonyms: &["联系电话", "电话", "企业电话"],
        required: false,
    },
    Column {
        key: "email",
        synonyms: &["电子邮箱", "邮箱", "联系邮箱", "email", "e-mail"],
        required: false,
    },
];

pub const PROJECT_COLUMNS: &[Column] = &[
    Column {
        key: "name",
        synonyms: &["项目名称", "小区名称", "项目(小区)名称", "项目", "小区"],
        required: true,
    },
    Column {
        key: "enterprise_code",
        synonyms: &[
            "开发企业信用代码",
            "统一社会信用代码",
            "信用代码",
            "企业信用代码",
        ],
        required: false,
    },
    Column {
        key: "enterprise_name",
        synonyms: &["开发企业", "开发企业名称", "企业名称", "开发单位"],
        required: false,
    },
    Column {
        key: "county",
        synonyms: COUNTY,
        required: true,
    },
    Column {
        key: "address",
        synonyms: &["项目地址", "地址", "坐落", "小区地址", "项目坐落"],
        required: false,
    },
    Column {
        key: "aliases",
        synonyms: &["别名", "曾用名", "推广名", "案名", "简称"],
        required: false,
    },
    Column {
        key: "sales_site",
        synonyms: &[
            "售楼处状态",
            "销售场所",
            "销售场所状态",
            "售楼处",
            "是否在售",
        ],
        required: false,
    },
    Column {
        key: "delivery_date",
        synonyms: &["交付日期", "交房日期", "交付时间"],
        required: false,
    },
    Column {
        key: "units",
        synonyms: &["交付套数", "已交付套数", "交付户数", "户数"],
        required: false,
    },
];
