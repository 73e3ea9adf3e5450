//! Completes the generated OpenAPI document with what holds for every operation, so each
//! handler's annotation only lists what is particular to it: the path parameters (every id in
//! our paths is an integer) and the error answers the shared layers give (a malformed query or
//! body, no credentials, a missing capability, out of scope, a conflict, an invalid field, an
//! oversized body). An API fuzzer checks responses against this document, so it must be true.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, Schema, Type,
};

/// Error answers any operation may give, with the situation each stands for.
const ERRORS: &[(&str, &str)] = &[
    ("400", "请求格式有误（查询参数或 JSON 无法解析）"),
    ("401", "未登录或令牌无效"),
    ("403", "当前角色无权执行此操作"),
    ("404", "对象不存在或不在当前用户的范围内"),
    ("409", "与现有数据冲突或状态不允许"),
    ("413", "请求或文件超过大小限制"),
    ("422", "字段取值无效（field 指出字段、行或列）"),
];

pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let params = path_params(path);
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_path_params(op, &params);
            add_errors(op);
        }
    }
}

/// The `{name}` segments of a path template.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn add_path_params(op: &mut Operation, names: &[&str]) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    for name in names {
        let declared = params
            .iter()
            .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
        if !declared {
            params.push(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(RefOr::T(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                                utoipa::openapi::KnownFormat::Int64,
                            )))
                            .build(),
                    ))))
                    .build(),
            );
        }
    }
}

fn add_errors(op: &mut Operation) {
    for (code, description) in ERRORS {
        op.responses
            .responses
            .entry((*code).to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build(),
                )
            });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_params_are_the_braced_segments() {
        assert_eq!(
            super::path_params("/api/v1/filings/{id}/files/{file_id}"),
            vec!["id", "file_id"]
        );
        assert!(super::path_params("/api/v1/enterprises").is_empty());
    }
}
