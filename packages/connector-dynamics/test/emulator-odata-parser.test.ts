import { describe, expect, it } from 'vitest';
import { ODataSyntaxError, parseODataFilter } from '../src/emulator/odata-parser.js';

describe("the Dataverse emulator's $filter parser: Microsoft.Dynamics.CRM.In", () => {
  it('reads PropertyName and the PropertyValues array in order', () => {
    expect(parseODataFilter(`Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=["a","b"])`)).toEqual({ kind: 'in', property: 'contactid', values: ['a', 'b'] });
  });

  it('reads an empty PropertyValues array', () => {
    expect(parseODataFilter(`Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=[])`)).toEqual({ kind: 'in', property: 'contactid', values: [] });
  });

  it('refuses a PropertyValues item that is not a JSON string', () => {
    expect(() => parseODataFilter(`Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=["a",1])`)).toThrow(ODataSyntaxError);
  });
});
