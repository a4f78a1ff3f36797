// 访客预约: its pages come in their own issue; until then the tab says when.
export default {
  key: 'visitors',
  title: '访客预约',
  icon: 'friends-o',
  order: 2,
  comingSoon: { summary: '来访人员在线预约、审批进度与入厂通行凭证' },
}
