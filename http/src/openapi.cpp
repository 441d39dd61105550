// The OpenAPI 3.1 document of a Router, from what each route's handler takes and returns
// (detail::EndpointInfo): path parameters typed by the handler's arguments (strings when it
// reads them itself), Query<S> members as optional query parameters with their defaults, the
// JSON body's schema, the response's schema and status, and the 422 every validating route
// may answer, in FastAPI's shapes. Struct and enum schemas become named components.
#include <spindle/http/detail/schema.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "router_state.hpp"

namespace spindle::http::detail {

namespace {

/// "app::v1::Todo" for a type (demangled), "Todo" its last component.
std::string demangled(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

/// A component name: letters, digits, '.', '-' and '_' only (OpenAPI's rule).
std::string component_name(std::string s) {
  for (char& c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) c = '_';
  }
  return s;
}

}  // namespace

std::pair<std::string, bool> Schemas::name(const std::type_info& type) {
  if (const auto it = names_.find(type); it != names_.end()) return {it->second, true};
  const std::string full = demangled(type);
  std::string base = full;  // without namespaces, unless it is a template's instance
  if (const auto colon = full.rfind("::");
      colon != std::string::npos && full.find('<') == std::string::npos) {
    base = full.substr(colon + 2);
  }
  std::string name = component_name(base);
  if (const auto taken = owners_.find(name); taken != owners_.end() && taken->second != type) {
    std::string qualified;  // two types of that name: "app.Todo", "admin.Todo"
    for (std::size_t i = 0; i < full.size(); ++i) {
      const bool scope = full.compare(i, 2, "::") == 0;
      qualified += scope ? '.' : full[i];
      i += scope ? 1 : 0;
    }
    name = component_name(qualified);
  }
  names_.emplace(type, name);
  owners_.emplace(name, type);
  return {name, false};
}

boost::json::value Schemas::ref(const std::string& name) {
  return boost::json::object{{"$ref", "#/components/schemas/" + name}};
}

namespace {

using boost::json::array;
using boost::json::object;

/// FastAPI's operationId style: method and path, everything not alphanumeric an underscore.
std::string operation_id(const Route& r, const std::string& path) {
  std::string id(beast_http::to_string(r.method));
  for (char& c : id) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (char c : path) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    id += alnum ? c : '_';
  }
  return id;
}

void add_validation_components(Schemas& s) {
  if (s.components.contains("HTTPValidationError")) return;
  s.components["ValidationError"] = object{
      {"title", "ValidationError"},
      {"type", "object"},
      {"properties",
       object{{"loc", object{{"title", "Location"},
                             {"type", "array"},
                             {"items", object{{"anyOf", array{object{{"type", "string"}},
                                                              object{{"type", "integer"}}}}}}}},
              {"msg", object{{"title", "Message"}, {"type", "string"}}},
              {"type", object{{"title", "Error Type"}, {"type", "string"}}}}},
      {"required", array{"loc", "msg", "type"}}};
  s.components["HTTPValidationError"] = object{
      {"title", "HTTPValidationError"},
      {"type", "object"},
      {"properties",
       object{{"detail", object{{"title", "Detail"},
                                {"type", "array"},
                                {"items", Schemas::ref("ValidationError")}}}}}};
}

object operation(const Route& r, const std::string& path, Schemas& s) {
  const EndpointInfo& info = r.endpoint->info;
  object op;
  if (!r.options.tags.empty()) {
    array tags;
    for (const auto& t : r.options.tags) tags.emplace_back(t);
    op["tags"] = std::move(tags);
  }
  if (!r.options.summary.empty()) op["summary"] = r.options.summary;
  if (!r.options.description.empty()) op["description"] = r.options.description;
  op["operationId"] = r.options.operation_id.empty() ? operation_id(r, path) : r.options.operation_id;
  array params;
  for (std::size_t k = 0; k < r.param_names.size(); ++k) {
    boost::json::value schema =
        info.typed_path ? info.path_types[k](s) : boost::json::value(object{{"type", "string"}});
    params.push_back(object{{"name", r.param_names[k]},
                            {"in", "path"},
                            {"required", true},
                            {"schema", std::move(schema)}});
  }
  for (const QueryParamInfo& q : info.query) {
    boost::json::value schema = q.schema(s);
    if (!q.default_value.is_null() && schema.is_object()) schema.as_object()["default"] = q.default_value;
    params.push_back(object{
        {"name", q.name}, {"in", "query"}, {"required", false}, {"schema", std::move(schema)}});
  }
  if (!params.empty()) op["parameters"] = std::move(params);
  if (info.body) {
    op["requestBody"] = object{
        {"content", object{{"application/json", object{{"schema", info.body(s)}}}}},
        {"required", true}};
  }
  const status code = r.options.status_code.value_or(info.returns_void ? status::no_content
                                                                          : status::ok);
  object ok{{"description", "Successful Response"}};
  if (info.response) {
    ok["content"] = object{{info.response_type, object{{"schema", info.response(s)}}}};
  } else if (!info.returns_void) {
    ok["content"] = object{{"application/json", object{{"schema", object{}}}}};
  }
  object responses{{std::to_string(static_cast<unsigned>(code)), std::move(ok)}};
  if (info.typed_path || !info.query.empty() || info.body) {
    add_validation_components(s);
    responses["422"] = object{
        {"description", "Validation Error"},
        {"content", object{{"application/json",
                            object{{"schema", Schemas::ref("HTTPValidationError")}}}}}};
  }
  op["responses"] = std::move(responses);
  return op;
}

}  // namespace

boost::json::value openapi_document(const RouterState& state, const OpenApiSpec& spec) {
  Schemas s;
  object paths;
  for (const auto& r : state.routes) {
    if (!r->options.include_in_schema) continue;
    std::string path = r->pattern;  // OpenAPI has no catch-all syntax: {path...} is {path}
    if (r->catch_all) {
      path.resize(path.size() - 4);  // (the catch-all is the last segment)
      path += '}';
    }
    std::string method(beast_http::to_string(r->method));
    for (char& c : method) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    boost::json::value& entry = paths[path];
    if (!entry.is_object()) entry.emplace_object();
    entry.as_object()[method] = operation(*r, path, s);
  }
  object doc{{"openapi", "3.1.0"},
             {"info", object{{"title", spec.title}, {"version", spec.version}}},
             {"paths", std::move(paths)}};
  if (!s.components.empty()) doc["components"] = object{{"schemas", std::move(s.components)}};
  return doc;
}

}  // namespace spindle::http::detail
