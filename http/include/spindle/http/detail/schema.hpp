// JSON Schema for C++ types, for the OpenAPI document a Router generates: the same types
// convert.hpp reads and writes. Described structs and enums become named components
// ("#/components/schemas/Todo"), named after the type without its namespaces. Not API.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/detail/convert.hpp>

#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <typeindex>
#include <typeinfo>

namespace spindle::http::detail {

/// The components of one OpenAPI document, filled as schemas refer to them.
class SPINDLE_API Schemas {
 public:
  /// The component name for a type ("Todo"; qualified, "app.Todo", if two types share it).
  /// Returns it and whether the type was named already (its component exists or is being
  /// built).
  std::pair<std::string, bool> name(const std::type_info& type);
  /// {"$ref": "#/components/schemas/NAME"}.
  static boost::json::value ref(const std::string& name);
  boost::json::object components;

 private:
  std::map<std::type_index, std::string> names_;
  std::map<std::string, std::type_index> owners_;
};

/// A function that writes a type's schema (registering the components it needs).
using SchemaFn = boost::json::value (*)(Schemas&);

template <class T>
boost::json::value schema_of(Schemas& s);

template <Described T>
boost::json::value struct_schema(Schemas& s) {
  auto [name, known] = s.name(typeid(T));
  if (!known) {
    s.components[name] = nullptr;  // a placeholder: a member may refer back to T
    boost::json::object properties;
    boost::json::array required;
    boost::mp11::mp_for_each<members_of<T>>([&](auto d) {
      using M = std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>;
      properties[d.name] = schema_of<M>(s);
      if (!is_optional<M>::value) required.emplace_back(d.name);
    });
    boost::json::object schema{{"title", name}, {"type", "object"}, {"properties", properties}};
    if (!required.empty()) schema["required"] = std::move(required);
    s.components[name] = std::move(schema);
  }
  return Schemas::ref(name);
}

/// T's JSON Schema: a $ref for described structs and enums, inline for the rest.
template <class T>
boost::json::value schema_of(Schemas& s) {
  using boost::json::object;
  if constexpr (std::same_as<T, bool>) {
    return object{{"type", "boolean"}};
  } else if constexpr (std::is_integral_v<T>) {
    return object{{"type", "integer"}};
  } else if constexpr (std::is_floating_point_v<T>) {
    return object{{"type", "number"}};
  } else if constexpr (std::is_convertible_v<T, std::string_view>) {
    return object{{"type", "string"}};
  } else if constexpr (is_optional<T>::value) {
    return schema_of<typename T::value_type>(s);
  } else if constexpr (is_vector<T>::value) {
    return object{{"type", "array"}, {"items", schema_of<typename T::value_type>(s)}};
  } else if constexpr (is_string_map<T>::value) {
    return object{{"type", "object"},
                  {"additionalProperties", schema_of<typename T::mapped_type>(s)}};
  } else if constexpr (std::same_as<T, boost::json::object>) {
    return object{{"type", "object"}};
  } else if constexpr (std::same_as<T, boost::json::array>) {
    return object{{"type", "array"}, {"items", object{}}};
  } else if constexpr (DescribedEnum<T>) {
    auto [name, known] = s.name(typeid(T));
    if (!known) {
      boost::json::array values;
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
          [&](auto d) { values.emplace_back(d.name); });
      s.components[name] = object{{"title", name}, {"enum", values}, {"type", "string"}};
    }
    return Schemas::ref(name);
  } else if constexpr (Described<T>) {
    return struct_schema<T>(s);
  } else {
    return object{};  // boost::json::value, or a type with its own conversion: anything
  }
}

}  // namespace spindle::http::detail
